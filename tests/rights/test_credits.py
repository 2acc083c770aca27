"""Issue 12 item 7: money the customer is owed becomes ledger entries with their own reference
(refunds of what was repaid on a reversed loan, compensation), in the history and the activity
trail, shown in the portal and the API. A credit first reduces what is owed; the rest is held
in the account's non-negative credit balance until paid out, which is recorded too."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.enums import CreditKind, LoanStatus, RepaymentChannel
from accounts.models import AccountCredit, CreditAccount
from accounts.services import credits
from accounts.services.common import credits_applied, credits_applied_subquery
from complaints import services
from complaints.enums import ItemOutcome, RootCause, Status
from core.errors import ApplicationError
from core.models import ActivityEntry
from notices.models import Notice
from tests.factories.complaints import (
    account_with_loans,
    change_reasons,
    decide_all,
    dispute,
    fresh_stepup,
    staff,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _repay(system_user, account, loan, amount: str) -> None:
    account_services.repayment_record(
        actor=system_user,
        reason="test",
        account_id=account.pk,
        amount=D(amount),
        channel=RepaymentChannel.TRANSFER,
        loan_id=loan.pk,
    )


def test_refund_with_nothing_else_owed_is_held_in_the_credit_balance(system_user):
    account, (loan,) = account_with_loans(actor=system_user, amounts=("300.00",))
    _repay(system_user, account, loan, "120.00")
    c = dispute(account=account, loans=[loan])
    agent = staff("agent")
    decide_all(c, agent)
    account.refresh_from_db()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REVERSED
    assert account.outstanding_balance == 0  # never below zero
    assert account.credit_balance == D("120.00")
    assert account.available_credit == account.credit_limit
    credit = AccountCredit.objects.get(account=account)
    assert credit.reference.startswith("CR")
    assert (credit.kind, credit.amount, credit.applied_amount, credit.held_amount) == (
        CreditKind.REFUND,
        D("120.00"),
        D("0.00"),
        D("120.00"),
    )
    assert (credit.loan, credit.origin, credit.created_by) == (
        loan,
        f"complaint:{c.reference}",
        agent,
    )
    assert change_reasons(credit) == ["decided"]
    assert credit.history.get().history_user == agent
    assert change_reasons(account)[-1] == "decided"
    trail = ActivityEntry.objects.filter(
        object_type="accounts.accountcredit", object_id=str(credit.pk)
    ).get()
    assert (trail.actor, trail.reason) == (agent, "decided")
    item = c.items.get()
    assert item.refund_credit == credit and item.refunded_repaid == D("120.00")
    assert credits_applied(account_id=account.pk) == 0
    # the decision notice names the refund entry
    body = Notice.objects.get(event="complaint.decided", channel="email").body
    assert credit.reference in body


def test_refund_pays_down_other_loans_first_then_the_rest_is_held(system_user):
    account, (disputed, other) = account_with_loans(actor=system_user, amounts=("300.00", "80.00"))
    _repay(system_user, account, disputed, "300.00")  # fully repaid, then found unauthorized
    _repay(system_user, account, other, "30.00")  # 50.00 still owed on the other loan
    c = dispute(account=account, loans=[disputed])
    decide_all(c, staff("agent"))
    account.refresh_from_db()
    other.refresh_from_db()
    credit = AccountCredit.objects.get(account=account)
    assert (credit.applied_amount, credit.held_amount) == (D("50.00"), D("250.00"))
    assert other.outstanding_amount == 0 and other.status == LoanStatus.REPAID
    assert change_reasons(other)[-1] == "decided"
    assert account.outstanding_balance == 0 and account.credit_balance == D("250.00")
    assert credits_applied(account_id=account.pk) == D("50.00")
    annotated = CreditAccount.objects.annotate(applied=credits_applied_subquery()).get(
        pk=account.pk
    )
    assert annotated.applied == D("50.00")


def test_compensation_is_a_ledger_entry_not_a_stamp(system_user):
    account, (loan, owed) = account_with_loans(actor=system_user, amounts=("100.00", "40.00"))
    c = dispute(account=account, loans=[loan])
    agent, reviewer = staff("agent"), staff("reviewer")
    item = c.items.get()
    services.complaint_decide(
        complaint_id=c.pk,
        actor=agent,
        reason="decided",
        decision_text="撤销并补偿",
        root_cause=RootCause.PARTNER_INTERFACE,
        item_decisions=[services.ItemDecision(item.pk, ItemOutcome.UPHELD, "无授权")],
        compensation_amount=D("60.00"),
        compensation_reason="给您带来不便",
    )
    c.refresh_from_db()
    assert c.status == Status.PENDING_APPROVAL
    assert not AccountCredit.objects.filter(account=account).exists()  # nothing booked yet
    fresh_stepup(reviewer)
    services.complaint_decision_approve(complaint_id=c.pk, actor=reviewer, reason="approved")
    comp = c.compensation
    comp.refresh_from_db()
    credit = comp.credit
    assert credit is not None and comp.paid_at is not None
    assert (credit.kind, credit.amount) == (CreditKind.COMPENSATION, D("60.00"))
    # 40.00 still owed on the other loan is paid first, 20.00 held
    assert (credit.applied_amount, credit.held_amount) == (D("40.00"), D("20.00"))
    account.refresh_from_db()
    owed.refresh_from_db()
    assert owed.status == LoanStatus.REPAID
    assert account.outstanding_balance == 0 and account.credit_balance == D("20.00")
    assert credit.created_by == reviewer and change_reasons(credit) == ["approved"]
    assert change_reasons(comp)[-1] == "approved"
    body = Notice.objects.get(event="complaint.decided", channel="email").body
    assert credit.reference in body and "60.00" in body


def test_compensation_needs_an_account(system_user):
    from complaints.enums import Category, Channel

    account, _ = account_with_loans(actor=system_user, amounts=())
    c = services.complaint_submit(
        actor=account.customer.user,
        reason="filed",
        customer=account.customer,
        category=Category.SERVICE,
        description="无账户的投诉",
        channel=Channel.PORTAL,
    )
    with pytest.raises(ApplicationError) as exc:
        services.complaint_decide(
            complaint_id=c.pk,
            actor=staff("agent"),
            reason="d",
            decision_text="补偿",
            root_cause=RootCause.OTHER,
            outcome="upheld",
            compensation_amount=D("10.00"),
            compensation_reason="x",
        )
    assert exc.value.status == 400 and "compensation_amount" in exc.value.fields


def test_balances_never_negative_in_the_database(system_user):
    account, _ = account_with_loans(actor=system_user, amounts=())
    for column in ("credit_balance", "outstanding_balance"):
        with pytest.raises(IntegrityError), transaction.atomic():
            CreditAccount.objects.filter(pk=account.pk).update(**{column: D("-0.01")})
    with pytest.raises(IntegrityError), transaction.atomic():
        AccountCredit.objects.create(
            reference="CRBAD",
            account=account,
            kind=CreditKind.REFUND,
            amount=D("10.00"),
            applied_amount=D("3.00"),
            held_amount=D("3.00"),  # does not add up
            reason="x",
            created_by=system_user,
        )


@pytest.fixture
def held(system_user):
    """An account holding 120.00 of credit balance after a refund."""
    account, (loan,) = account_with_loans(actor=system_user, amounts=("300.00",))
    _repay(system_user, account, loan, "120.00")
    decide_all(dispute(account=account, loans=[loan]), staff("agent"))
    account.refresh_from_db()
    assert account.credit_balance == D("120.00")
    return account


def test_payout_is_recorded_and_needs_a_manager(held):
    manager, agent = staff("manager"), staff("agent")
    with pytest.raises(ApplicationError) as exc:
        credits.credit_pay_out(account_id=held.pk, actor=agent, reason="转账")
    assert (exc.value.code, exc.value.status) == ("forbidden", 403)
    with pytest.raises(ApplicationError) as exc:
        credits.credit_pay_out(account_id=held.pk, actor=manager, reason="  ")
    assert exc.value.status == 400
    with pytest.raises(ApplicationError) as exc:
        credits.credit_pay_out(account_id=held.pk, actor=manager, reason="转账", amount=D("120.01"))
    assert exc.value.status == 400 and "amount" in exc.value.fields
    held.refresh_from_db()
    assert held.credit_balance == D("120.00")
    part = credits.credit_pay_out(
        account_id=held.pk, actor=manager, reason="退回银行卡 尾号1234", amount=D("20.00")
    )
    rest = credits.credit_pay_out(account_id=held.pk, actor=manager, reason="退回银行卡")
    held.refresh_from_db()
    assert held.credit_balance == 0 and held.outstanding_balance == 0
    assert (part.kind, part.amount, rest.amount) == (CreditKind.PAYOUT, D("20.00"), D("100.00"))
    assert rest.created_by == manager and change_reasons(rest) == ["退回银行卡"]
    assert change_reasons(held)[-1] == "退回银行卡"
    assert ActivityEntry.objects.filter(
        object_type="accounts.accountcredit", object_id=str(rest.pk), actor=manager
    ).exists()
    with pytest.raises(ApplicationError) as exc:
        credits.credit_pay_out(account_id=held.pk, actor=manager, reason="again")
    assert exc.value.code == "nothing_to_pay_out"


def test_customer_sees_credits_in_portal_and_api(held):
    credit = AccountCredit.objects.get(account=held)
    user = held.customer.user
    client = Client()
    client.force_login(user)
    html = client.get(f"/portal/accounts/{held.pk}/").content.decode()
    assert 'data-testid="credit-balance">¥120.00<' in html
    assert f'data-testid="credit-{credit.reference}"' in html
    api = APIClient()
    resp = api.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": "test-pass-123"},
        format="json",
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {resp.json()['token']}")
    body = api.get("/api/v1/accounts/").json()
    rows = body["results"] if isinstance(body, dict) else body
    (row,) = [r for r in rows if r["id"] == held.pk]
    assert row["credit_balance"] == "120.00" and row["outstanding_balance"] == "0.00"
    assert row["credits"] == [
        {
            "reference": credit.reference,
            "kind": "refund",
            "amount": "120.00",
            "applied": "0.00",
            "held": "120.00",
            "booked_at": row["credits"][0]["booked_at"],
        }
    ]


def test_admin_payout_action_is_for_managers_with_a_reason(held, system_user):
    from accounts.staff import staff_upsert
    from tests.admin.conftest import PASSWORD, login

    def client_for(role: str):
        user, device = staff_upsert(
            actor=system_user, reason="t", username=f"payout_{role}", role=role, password=PASSWORD
        )
        client = Client()
        assert login(client, user, device).status_code == 302
        return client, user

    data = {
        "action": "pay_out_credit_balance",
        "_selected_action": [str(held.pk)],
        "reason_confirmed": "1",
        "reason": "已退回客户银行卡",
    }
    agent_client, _agent = client_for("agent")
    agent_client.post("/admin/accounts/creditaccount/", data)
    held.refresh_from_db()
    assert held.credit_balance == D("120.00")  # the action is not offered to agents
    manager_client, manager = client_for("manager")
    page = manager_client.post(
        "/admin/accounts/creditaccount/",
        {"action": "pay_out_credit_balance", "_selected_action": [str(held.pk)]},
    )
    assert page.status_code == 200 and "reason" in page.content.decode()  # asks for the reason
    held.refresh_from_db()
    assert held.credit_balance == D("120.00")
    resp = manager_client.post("/admin/accounts/creditaccount/", data)
    assert resp.status_code == 302
    held.refresh_from_db()
    assert held.credit_balance == 0
    payout = AccountCredit.objects.get(account=held, kind=CreditKind.PAYOUT)
    assert (payout.amount, payout.created_by, payout.reason) == (
        D("120.00"),
        manager,
        "已退回客户银行卡",
    )


def test_refund_pays_down_the_rejected_record_of_the_same_decision(system_user):
    account, (upheld, rejected) = account_with_loans(
        actor=system_user, amounts=("100.00", "200.00")
    )
    _repay(system_user, account, upheld, "100.00")
    c = dispute(account=account, loans=[upheld, rejected])
    items = {i.loan_id: i for i in c.items.all()}
    services.complaint_decide(
        complaint_id=c.pk,
        actor=staff("agent"),
        reason="decided",
        decision_text="一笔撤销，一笔维持",
        root_cause=RootCause.THIRD_PARTY_FRAUD,
        item_decisions=[
            services.ItemDecision(items[upheld.pk].pk, ItemOutcome.UPHELD, "无授权"),
            services.ItemDecision(items[rejected.pk].pk, ItemOutcome.REJECTED, "本人授权"),
        ],
    )
    rejected.refresh_from_db()
    account.refresh_from_db()
    credit = AccountCredit.objects.get(account=account)
    # the rejected loan stands again and the refund of 100.00 pays it down
    assert rejected.status == LoanStatus.POSTED and rejected.outstanding_amount == D("100.00")
    assert (credit.applied_amount, credit.held_amount) == (D("100.00"), D("0.00"))
    assert account.outstanding_balance == D("100.00") and account.credit_balance == 0
