"""The people of a reason test and the states it starts from, built through the services."""

from __future__ import annotations

import socket
from typing import Any

from django.apps import apps
from django.test import Client

from accounts import services as account_services
from accounts.staff import staff_upsert
from backoffice.roles import roles_sync
from closures import services as closure_services
from closures.models import ClosureAlert, ClosureRequest
from complaints import services as complaint_services
from complaints.enums import ItemOutcome, RootCause, Status
from complaints.models import Complaint
from core.models import StepUpVerification
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.services import notice_enqueue, notice_send
from tests.admin.conftest import PASSWORD, login
from tests.factories import CreditAccountFactory, CustomerFactory, UserFactory
from tests.factories.closures import closed_by_risk, proposed
from tests.factories.complaints import account_with_loans, dispute

OURS = ("accounts", "complaints", "closures", "notices", "core")


def reason_text(length: int, tag: str) -> str:
    """`length` characters, Chinese and ASCII mixed, starting with a tag unique to the test."""
    head = f"[{tag}] "
    # Ends with a full stop, not a space: services strip what people type.
    return (head + "因为客户来电说明了情况 because " * 100)[: length - 1] + "。"


class Desk:
    """The people of one test: staff with verified admin sessions (one per role, made on first
    use), and the system actor that builds state through the services."""

    def __init__(self, system_user: Any) -> None:
        self.system = system_user
        self._staff: dict[str, tuple[Client, Any]] = {}
        roles_sync()

    def staff(self, role: str) -> tuple[Client, Any]:
        if role not in self._staff:
            user, device = staff_upsert(
                actor=self.system,
                reason="test",
                username=f"{role}-{len(self._staff)}",
                role=role,
                password=PASSWORD,
            )
            client = Client()
            assert login(client, user, device).status_code == 302
            self._staff[role] = (client, user)
        return self._staff[role]

    def client(self, role: str) -> Client:
        return self.staff(role)[0]

    def user(self, role: str) -> Any:
        return self.staff(role)[1]

    def stepped_up(self, role: str) -> Client:
        """A client whose user entered a one-time code just now (approvals need one)."""
        StepUpVerification.objects.create(user=self.user(role), purpose="test")
        return self.client(role)


def history_holds(text: str) -> bool:
    """Some history row of our apps records `text` whole in its change reason."""
    return any(
        model.objects.filter(history_change_reason__contains=text).exists()
        for model in apps.get_models()
        if model._meta.app_label in OURS and hasattr(model, "history_change_reason")
    )


def received(desk: Desk, *, amount: str = "199.00") -> dict:
    account, loans = account_with_loans(actor=desk.system, amounts=(amount,))
    return {"complaint": dispute(account=account, loans=loans), "account": account}


def partner_interface(desk: Desk) -> dict:
    from accounts.services import partners

    interface = partners.partner_interface_register(
        actor=desk.user("manager"),
        reason="onboarded",
        code="PI-REASONS-1",
        partner="Partner",
        permitted_kinds=["purchase"],
        permitted_channels=["partner_api"],
        max_amount="5000.00",
    )
    return {"interface": interface}


def taken(desk: Desk, **kw: Any) -> dict:
    state = received(desk, **kw)
    agent = desk.user("agent")
    complaint_services.complaint_assign(
        complaint_id=state["complaint"].pk, assignee=agent, actor=agent, reason="take"
    )
    return state


def extended(desk: Desk) -> dict:
    state = taken(desk)
    complaint_services.complaint_extend(
        complaint_id=state["complaint"].pk, actor=desk.user("agent"), reason="partner logs"
    )
    return state


def extension_requested(desk: Desk) -> dict:
    state = extended(desk)
    complaint_services.complaint_extension_request(
        complaint_id=state["complaint"].pk, actor=desk.user("agent"), reason="appraisal"
    )
    return state


def paused(desk: Desk) -> dict:
    state = taken(desk)
    complaint_services.complaint_pause(
        complaint_id=state["complaint"].pk,
        actor=desk.user("agent"),
        reason="waiting",
        pause_reason="appraisal",
    )
    return state


def decide_all(desk: Desk, complaint: Complaint, outcome: str = ItemOutcome.UPHELD) -> None:
    complaint_services.complaint_decide(
        complaint_id=complaint.pk,
        actor=desk.user("agent"),
        reason="decided",
        decision_text="未找到任何授权记录。",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[
            complaint_services.ItemDecision(item_id=i.pk, outcome=outcome, reasons="无授权记录")
            for i in complaint.items.all()
        ],
    )


def pending_approval(desk: Desk) -> dict:
    state = taken(desk, amount="6000.00")  # large: a reviewer approves
    decide_all(desk, state["complaint"])
    assert complaint_status(state) == Status.PENDING_APPROVAL
    return state


def decided(desk: Desk) -> dict:
    state = taken(desk)
    decide_all(desk, state["complaint"], outcome=ItemOutcome.REJECTED)
    assert complaint_status(state) == Status.DECIDED
    for notice_id in Notice.objects.filter(status=NoticeStatus.PENDING).values_list("pk"):
        notice_send(notice_id=notice_id[0])  # the decision notice is delivered
    return state


def under_review(desk: Desk) -> dict:
    state = decided(desk)
    complaint = state["complaint"]
    complaint_services.review_request(
        complaint_id=complaint.pk, actor=complaint.customer.user, grounds="不服"
    )
    return state


def complaint_status(state: dict) -> str:
    return Complaint.objects.get(pk=state["complaint"].pk).status


def complaint_of(state: dict) -> Complaint:
    return Complaint.objects.get(pk=state["complaint"].pk)


def active_account(desk: Desk) -> dict:
    return {"account": CreditAccountFactory()}


def departing_staff(desk: Desk) -> dict:
    """An agent who leaves; the manager may deactivate staff (accounts.change_user)."""
    from django.contrib.auth.models import Permission

    desk.user("manager").user_permissions.add(
        Permission.objects.get(content_type__app_label="accounts", codename="change_user")
    )
    return {"staff": desk.user("agent")}


def frozen_account(desk: Desk) -> dict:
    account = CreditAccountFactory()
    account_services.account_freeze(actor=desk.system, reason="test", account_id=account.pk)
    return {"account": account}


def credit_held(desk: Desk) -> dict:
    """An account holding a credit balance (a compensation with nothing owed)."""
    from decimal import Decimal

    from django.db import transaction

    from accounts import locks as account_locks
    from accounts.enums import CreditKind
    from accounts.services.credits import credit_book

    account = CreditAccountFactory()
    with transaction.atomic():
        credit_book(
            account=account_locks.account_for_update(account_id=account.pk),
            kind=CreditKind.COMPENSATION,
            amount=Decimal("50.00"),
            actor=desk.system,
            reason="test",
        )
    return {"account": account}


def failed_notice(desk: Desk) -> dict:
    user = UserFactory()
    (notice,) = notice_enqueue(
        event="staff.alert",
        recipient=user,
        context={"title": "t", "text": "x"},
        actor=desk.system,
        channels=("email",),
    )
    type(user).objects.filter(pk=user.pk).update(email="")  # the address is gone: undeliverable
    assert notice_send(notice_id=notice.pk).status == "failed"
    return {"notice": notice}


def unknown_notice(desk: Desk) -> dict:
    """A text message whose gateway took the request and never answered: outcome unknown."""
    from django.conf import settings

    user = CustomerFactory().user
    (notice,) = notice_enqueue(
        event="staff.alert",
        recipient=user,
        context={"title": "t", "text": "x"},
        actor=desk.system,
        channels=("sms",),
    )
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # takes the request, never answers
    saved = (settings.SMS_BACKEND, settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TIMEOUT)
    settings.SMS_BACKEND = "notices.backends.sms.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/send"
    settings.SMS_GATEWAY_TIMEOUT = 0.5
    try:
        assert notice_send(notice_id=notice.pk).status == "unknown"
    finally:
        listener.close()
        settings.SMS_BACKEND, settings.SMS_GATEWAY_URL, settings.SMS_GATEWAY_TIMEOUT = saved
    return {"notice": notice}


def proposal(desk: Desk) -> dict:
    account = CreditAccountFactory(overdue_count=4)
    return {"closure": proposed(account=account, proposer=desk.user("agent")), "account": account}


def closed_account(desk: Desk) -> dict:
    account = CreditAccountFactory(overdue_count=4)
    closure = closed_by_risk(
        account=account,
        proposer=desk.user("agent"),
        approver=stepped_up_user(desk, "reviewer"),
        actor=desk.system,
    )
    return {"closure": closure, "account": account}


def stepped_up_user(desk: Desk, role: str) -> Any:
    desk.stepped_up(role)
    return desk.user(role)


def appealed(desk: Desk) -> dict:
    state = closed_account(desk)
    appeal = closure_services.appeal_file(
        actor=state["account"].customer.user, closure_id=state["closure"].pk, grounds="按时还款"
    )
    return {**state, "appeal": appeal}


def closure_alert(desk: Desk) -> dict:
    account = CreditAccountFactory()
    closure = proposed(account=account, proposer=desk.user("agent"), signal=False)
    return {"alert": ClosureAlert.objects.get(closure=closure)}


def customer_closure(desk: Desk) -> dict:
    account = CreditAccountFactory()
    closure = closure_services.closure_request_by_customer(
        actor=account.customer.user, account_id=account.pk
    )
    return {"closure": closure, "account": account}


def closure_status(state: dict) -> str:
    return ClosureRequest.objects.get(pk=state["closure"].pk).status
