"""Helpers that build complaint state through the services (where it matters)."""

from __future__ import annotations

from decimal import Decimal

from accounts import services as account_services
from accounts.enums import AuthMethod, LoanChannel, LoanKind
from accounts.services import AuthorizationInput
from complaints import services
from complaints.enums import Category, Channel, ItemOutcome, RootCause
from core.models import StepUpVerification
from notices.models import Notice
from notices.services import notice_send
from tests.factories import CreditAccountFactory, StaffFactory


def account_with_loans(
    *,
    actor,
    amounts=("199.00",),
    authorized=False,
    merchant="某商户",
    partner_interface="",
    customer=None,
    fees="0.00",
):
    kwargs = {"customer": customer} if customer else {}
    account = CreditAccountFactory(**kwargs)
    loans = []
    for amount in amounts:
        auth = (
            AuthorizationInput(
                method=AuthMethod.SMS_CODE,
                channel=LoanChannel.APP,
                device_id="dev-1",
                ip_address="10.0.0.1",
            )
            if authorized
            else None
        )
        loans.append(
            account_services.loan_record(
                actor=actor,
                reason="test",
                account_id=account.pk,
                amount=Decimal(amount),
                kind=LoanKind.PURCHASE,
                channel=LoanChannel.PARTNER_API if partner_interface else LoanChannel.APP,
                merchant=merchant,
                partner_interface=partner_interface,
                fees=Decimal(fees),
                authorization=auth,
            )
        )
    account.refresh_from_db()
    return account, loans


def dispute(*, account, loans, compromised=False, channel=Channel.PORTAL):
    user = account.customer.user
    return services.complaint_submit(
        actor=user,
        reason="customer dispute",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="我没有借过这笔钱",
        channel=channel,
        account_id=account.pk,
        loan_record_ids=[loan.pk for loan in loans],
        account_compromised=compromised,
    )


def staff(role: str, **kwargs):
    return StaffFactory(role=role, **kwargs)


def fresh_stepup(user) -> None:
    StepUpVerification.objects.create(user=user, purpose="test")


# The typed fields of a case event (complaints.events fills the ones its type needs).
EVENT_FIELDS = (
    "type",
    "actor",
    "customer_visible",
    "text",
    "from_status",
    "to_status",
    "assignee",
    "previous_assignee",
    "due_at",
    "previous_due_at",
    "pause_reason",
    "outcome",
    "loan",
    "loan_from_status",
    "loan_to_status",
    "review",
)


def case_events(complaint, *, after: int = 0) -> list[dict]:
    """The complaint's case events in the order written (after the event with pk `after`), each
    as its non-empty fields (`customer_visible` always), FKs as ids: what a transition test
    compares with the exact events it expects."""
    rows = complaint.events.filter(pk__gt=after).order_by("pk").values(*EVENT_FIELDS)
    return [
        {k: v for k, v in row.items() if k == "customer_visible" or v not in ("", None)}
        for row in rows
    ]


def event(type: str, actor=None, *, visible: bool, **fields) -> dict:
    """One expected row of `case_events` (pass only the fields the event fills)."""
    row = {"type": type, "customer_visible": visible, **fields}
    if actor is not None:
        row["actor"] = actor
    return row


def last_event_pk(complaint) -> int:
    return complaint.events.order_by("-pk").values_list("pk", flat=True).first() or 0


def change_reasons(obj) -> list[str]:
    """The history change reasons of `obj`, oldest first."""
    return list(obj.history.order_by("history_id").values_list("history_change_reason", flat=True))


def decide_all(c, actor, outcome=ItemOutcome.UPHELD, **kw):
    """Decide every disputed record of `c` the same way (reasons and root cause fixed)."""
    return services.complaint_decide(
        complaint_id=c.pk,
        actor=actor,
        reason="decided",
        decision_text="未找到任何授权记录。",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[
            services.ItemDecision(item_id=i.pk, outcome=outcome, reasons="无授权记录")
            for i in c.items.all()
        ],
        **kw,
    )


def deliver_external(complaint, event_name: str) -> None:
    """Send the email and SMS notices of `event_name` about `complaint` (delivered: the review
    and appeal windows count from then)."""
    for n in Notice.objects.filter(
        event=event_name, object_id=str(complaint.pk), channel__in=["email", "sms"]
    ):
        notice_send(notice_id=n.pk)
