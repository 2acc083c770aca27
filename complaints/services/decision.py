"""The decision per disputed record, its approval (maker-checker, step-up) and closing.

Applying a decision is a composition of the ledger's services, under the locks of
complaints.locks.complaint_with_ledger_for_update (account, loans, then the complaint): upheld
records are reversed (`loans_reverse`) and a credit-report correction opens for each
(`correction_open`) and what the customer had repaid on it is booked back as a refund entry
(`credit_book`, kind refund); rejected ones stand again (`loan_undispute`); the case's
objection marks are settled (`objections_settle`); a compensation is booked as a ledger entry
too (kind compensation). complaints never writes a ledger row itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import locks as account_locks
from accounts import services as account_services
from accounts.enums import CreditKind, LoanStatus
from accounts.models import AuthorizationEvent, User
from accounts.services.credits import credit_book
from core import roles
from core.audit import save_with_history
from core.errors import ApplicationError
from core.stepup import stepup_require
from notices.services import notice_is_delivered

from .. import clock, events
from ..enums import DECIDABLE_STATUSES, ItemOutcome, Outcome, ReviewStatus, RootCause, Status
from ..locks import (
    LockedCase,
    compensation_for_update,
    complaint_for_update,
    complaint_with_ledger_for_update,
)
from ..models import ZERO, Compensation, Complaint, DisputedItem
from .common import (
    notify_customer,
    notify_staff,
    origin_of,
    require_perm,
    stake_refuse,
    transition,
)

DRAFT_FIELDS = ["decision_text", "root_cause", "outcome", "drafted_by", "approved_by"]


@dataclass(frozen=True)
class ItemDecision:
    item_id: int
    outcome: str
    reasons: str


def _decision_errors(
    *,
    items: list[DisputedItem],
    by_id: dict[int, ItemDecision],
    decision_text: str,
    root_cause: str,
    compensation_amount: Decimal | None,
    compensation_reason: str,
    outcome: str | None,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not decision_text.strip():
        errors["decision_text"] = [_("Required.")]
    if root_cause not in RootCause.values:
        errors["root_cause"] = [_("Choose a root cause.")]
    for item in items:
        d = by_id.get(item.pk)
        if d is None or d.outcome not in ItemOutcome.values:
            errors[f"item_{item.pk}"] = [_("Decide this loan record.")]
        elif not d.reasons.strip():
            errors[f"item_{item.pk}"] = [_("Give the reasons.")]
    if set(by_id) - {i.pk for i in items}:
        errors["items"] = [_("Unknown disputed record.")]
    if compensation_amount is not None and compensation_amount <= 0:
        errors["compensation_amount"] = [_("Must be more than zero.")]
    if compensation_amount is not None and not compensation_reason.strip():
        errors["compensation_reason"] = [_("Required.")]
    if not items and outcome not in (Outcome.UPHELD, Outcome.PARTIALLY_UPHELD, Outcome.REJECTED):
        errors["outcome"] = [_("Choose the outcome.")]
    return errors


def items_outcome(items: list[DisputedItem]) -> str:
    upheld = sum(1 for i in items if i.outcome == ItemOutcome.UPHELD)
    if upheld == len(items):
        return Outcome.UPHELD
    return Outcome.REJECTED if upheld == 0 else Outcome.PARTIALLY_UPHELD


def _reversal_total(items: Iterable[DisputedItem]) -> Decimal:
    return sum((i.loan.amount for i in items if i.outcome == ItemOutcome.UPHELD), ZERO)


def _items_decide(
    items: list[DisputedItem], by_id: dict[int, ItemDecision], *, actor: User, reason: str
) -> None:
    for item in items:
        item.outcome = by_id[item.pk].outcome
        item.reasons = by_id[item.pk].reasons.strip()
        save_with_history(item, actor=actor, reason=reason, update_fields=["outcome", "reasons"])


def _compensation_propose(
    complaint: Complaint, *, amount: Decimal, text: str, actor: User, reason: str
) -> Compensation:
    comp = compensation_for_update(complaint=complaint) or Compensation(complaint=complaint)
    comp.amount = amount
    comp.reason = text.strip()
    comp.proposed_by = actor
    save_with_history(comp, actor=actor, reason=reason)
    return comp


def case_for_update(*, complaint_id: int) -> LockedCase:
    """The case with its ledger, locked (complaints.locks, which locks the account when loans
    are disputed); the account is locked first when none is, too: a compensation is booked to
    it."""
    account_id = (
        Complaint.objects.filter(pk=complaint_id).values_list("account_id", flat=True).first()
    )
    account = None
    if account_id and not DisputedItem.objects.filter(complaint_id=complaint_id).exists():
        account = account_locks.account_for_update(account_id=account_id)
    case = complaint_with_ledger_for_update(complaint_id=complaint_id)
    if case.account is None:
        case.account = account
    return case


@transaction.atomic
def complaint_decide(
    *,
    complaint_id: int,
    actor: User,
    reason: str,
    decision_text: str,
    root_cause: str,
    item_decisions: Sequence[ItemDecision] = (),
    compensation_amount: Decimal | None = None,
    compensation_reason: str = "",
    outcome: str | None = None,
) -> Complaint:
    """Draft the decision (one outcome per disputed record, reasons, root cause, optional
    compensation). It applies at once, or waits for a reviewer's approval when the reversal
    exceeds DECISION_APPROVAL_THRESHOLD in total or compensation is paid."""
    require_perm(actor, "complaints.work_complaint")
    case = case_for_update(complaint_id=complaint_id)
    complaint, items = case.complaint, case.items
    if complaint.status not in DECIDABLE_STATUSES:
        raise ApplicationError(
            _("A decision can only be drafted while the complaint is being investigated."),
            code="invalid_complaint_transition",
        )
    stake_refuse(complaint, actor=actor)
    by_id = {d.item_id: d for d in item_decisions}
    errors = _decision_errors(
        items=items,
        by_id=by_id,
        decision_text=decision_text,
        root_cause=root_cause,
        compensation_amount=compensation_amount,
        compensation_reason=compensation_reason,
        outcome=outcome,
    )
    if compensation_amount is not None and case.account is None:
        errors["compensation_amount"] = [
            _("A compensation is booked to an account: this complaint names none.")
        ]
    if errors:
        raise ApplicationError(
            _("The decision is not complete."), code="invalid", status=400, fields=errors
        )
    _items_decide(items, by_id, actor=actor, reason=reason)
    comp = None
    if compensation_amount is not None:
        comp = _compensation_propose(
            complaint,
            amount=compensation_amount,
            text=compensation_reason,
            actor=actor,
            reason=reason,
        )
    complaint.decision_text = decision_text.strip()
    complaint.root_cause = root_cause
    complaint.outcome = items_outcome(items) if items else outcome
    complaint.drafted_by = actor
    complaint.approved_by = None
    events.decision_drafted_event(
        complaint=complaint, actor=actor, outcome=complaint.outcome, reason=reason
    )
    if _reversal_total(items) > settings.DECISION_APPROVAL_THRESHOLD or comp is not None:
        return _decision_submit(complaint, actor=actor, reason=reason)
    return _decision_apply(case, actor=actor, reason=reason, old_status=complaint.status)


def _decision_submit(complaint: Complaint, *, actor: User, reason: str) -> Complaint:
    """The draft waits for a reviewer (pending_approval); nothing is applied yet."""
    old_status = transition(complaint, Status.PENDING_APPROVAL)
    save_with_history(
        complaint, actor=actor, reason=reason, update_fields=[*DRAFT_FIELDS, "status"]
    )
    events.decision_submitted_event(complaint=complaint, actor=actor, from_status=old_status)
    notify_staff(
        "staff.decision_approval",
        actor=actor,
        obj=complaint,
        role=roles.REVIEWER,
        key=timezone.now().isoformat(),
        reference=complaint.reference,
    )
    return complaint


ITEM_APPLIED_FIELDS = [
    "reversed_outstanding",
    "refunded_repaid",
    "refunded_fees",
    "refunded_interest",
    "refund_credit",
    "applied_at",
]


def items_reverse(
    case: LockedCase,
    upheld: list[DisputedItem],
    *,
    actor: User,
    reason: str,
    now: datetime,
    correction_due_at: datetime,
) -> None:
    """Upheld records in the ledger (the case's account and loans locked): each loan reversed,
    what the customer had repaid on it booked back as a refund entry (it first pays down what
    they still owe, the rest is held in the credit balance), a credit-report correction
    opened, the reversal on the case's timeline. A loan already reversed (by another case)
    gives nothing back twice. The items' reversal figures are set, not saved."""
    complaint = case.complaint
    origin = origin_of(complaint)
    to_reverse = [i for i in upheld if i.loan.status != LoanStatus.REVERSED]
    before = {i.loan_id: i.loan.status for i in to_reverse}
    reversals = account_services.loans_reverse(
        account=case.account, loans=[i.loan for i in to_reverse], actor=actor, reason=origin
    )
    for item in to_reverse:
        reversal = reversals[item.loan_id]
        item.reversed_outstanding = reversal.reversed_outstanding
        item.refunded_repaid = reversal.refunded_repaid
        item.refunded_fees = reversal.refunded_fees
        item.refunded_interest = reversal.refunded_interest
        if reversal.refunded_repaid > 0:
            item.refund_credit = credit_book(
                account=case.account,
                kind=CreditKind.REFUND,
                amount=reversal.refunded_repaid,
                loan=item.loan,
                origin=origin,
                actor=actor,
                reason=reason,
            )
        account_services.correction_open(
            account=case.account,
            loan=item.loan,
            origin=origin,
            text=item.reasons,
            opened_at=now,
            due_at=correction_due_at,
            actor=actor,
            reason=reason,
        )
        events.loan_reversed_event(
            complaint=complaint, actor=actor, loan=item.loan, from_status=before[item.loan_id]
        )


def _ledger_apply(case: LockedCase, *, actor: User, reason: str, now: datetime) -> None:
    """The decided records in the ledger: upheld ones reversed (with their refund and a
    correction each), the others standing again; the case's objection marks settled."""
    complaint = case.complaint
    origin = origin_of(complaint)
    # The rejected records stand again first: a refund then pays down what is owed on them.
    for item in case.items:
        if item.outcome != ItemOutcome.UPHELD and item.loan.status == LoanStatus.DISPUTED:
            account_services.loan_undispute(loan=item.loan, actor=actor, reason=origin)
    items_reverse(
        case,
        [i for i in case.items if i.outcome == ItemOutcome.UPHELD],
        actor=actor,
        reason=reason,
        now=now,
        correction_due_at=clock.add_calendar_days(complaint.received_at, clock.OBJECTION_DAYS),
    )
    for item in case.items:
        item.applied_at = now
        save_with_history(item, actor=actor, reason=reason, update_fields=ITEM_APPLIED_FIELDS)
    account_services.objections_settle(
        origin=origin, loan_ids=[i.loan_id for i in case.items], actor=actor, reason=reason, now=now
    )


def _decision_apply(case: LockedCase, *, actor: User, reason: str, old_status: str) -> Complaint:
    """The decision takes effect: the ledger, the compensation paid, the case decided, the
    customer told (with the authorization on record for each rejected record)."""
    complaint = case.complaint
    now = timezone.now()
    if case.items:
        _ledger_apply(case, actor=actor, reason=reason, now=now)
    comp = compensation_for_update(complaint=complaint)
    if comp is not None and comp.credit_id is None:
        comp.credit = credit_book(
            account=case.account,
            kind=CreditKind.COMPENSATION,
            amount=comp.amount,
            origin=origin_of(complaint),
            actor=actor,
            reason=reason,
        )
        comp.paid_at = now
        save_with_history(comp, actor=actor, reason=reason, update_fields=["paid_at", "credit"])
    transition(complaint, Status.DECIDED)
    complaint.decided_at = now
    complaint.paused_at = None
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=[*DRAFT_FIELDS, "status", "decided_at", "paused_at"],
    )
    events.complaint_decided_event(complaint=complaint, actor=actor, from_status=old_status)
    notify_customer(
        complaint,
        "complaint.decided",
        actor=actor,
        key=now.isoformat(),
        outcome=str(Outcome(complaint.outcome).label),
        decision_text=complaint.decision_text,
        items=item_lines(case.items),
        compensation=f"{comp.amount:,.2f}" if comp is not None else "",
        compensation_reference=comp.credit.reference if comp is not None and comp.credit else "",
        review_deadline=timezone.localtime(
            clock.add_calendar_days(now, clock.REVIEW_WINDOW_DAYS)
        ).strftime("%Y-%m-%d"),
    )
    return complaint


def item_lines(items: list[DisputedItem]) -> list[str]:
    """One line per record for the decision notice; a rejected one names the evidence that
    shows the customer authorized it."""
    trails = _trail_summaries([i.loan_id for i in items if i.outcome == ItemOutcome.REJECTED])
    lines = []
    for item in items:
        line = (
            f"{item.loan.reference} (¥{item.loan.amount:,.2f}): "
            f"{ItemOutcome(item.outcome).label} - {item.reasons}"
        )
        if item.outcome == ItemOutcome.REJECTED and trails.get(item.loan_id):
            line += " | " + _("Authorization on record: %(trail)s") % {
                "trail": "; ".join(trails[item.loan_id])
            }
        if item.refund_credit is not None:
            line += " | " + _("What you had repaid on it, %(amount)s, is booked back: %(ref)s") % {
                "amount": f"¥{item.refund_credit.amount:,.2f}",
                "ref": item.refund_credit.reference,
            }
        lines.append(line)
    return lines


def _trail_summaries(loan_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not loan_ids:
        return out
    for e in AuthorizationEvent.objects.filter(loan_id__in=loan_ids).order_by("occurred_at", "pk"):
        out.setdefault(e.loan_id, []).append(
            f"{timezone.localtime(e.occurred_at):%Y-%m-%d %H:%M} {e.get_method_display()} / "
            f"{e.get_channel_display()}"
            + (f" / {e.device_id}" if e.device_id else "")
            + (f" / {e.consent_reference}" if e.consent_reference else "")
        )
    return out


def _pending_approval_check(complaint: Complaint, *, actor: User, own_draft: str) -> None:
    """The (locked) decision waits for approval, and `actor` did not draft it (`own_draft` is
    the refusal when they did)."""
    if complaint.status != Status.PENDING_APPROVAL:
        raise ApplicationError(
            _("This decision is not waiting for approval."), code="invalid_complaint_transition"
        )
    if complaint.drafted_by_id == actor.pk:
        raise ApplicationError(own_draft, code="maker_checker", status=403)


@transaction.atomic
def complaint_decision_approve(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """A reviewer (not the drafter, with a fresh one-time code) approves: the decision applies."""
    require_perm(actor, "complaints.approve_decision")
    case = case_for_update(complaint_id=complaint_id)
    complaint = case.complaint
    stake_refuse(complaint, actor=actor)
    _pending_approval_check(
        complaint, actor=actor, own_draft=_("The drafter of a decision cannot approve it.")
    )
    stepup_require(actor=actor)
    complaint.approved_by = actor
    events.decision_approved_event(complaint=complaint, actor=actor, reason=reason)
    return _decision_apply(case, actor=actor, reason=reason, old_status=Status.PENDING_APPROVAL)


@transaction.atomic
def complaint_decision_return(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """A reviewer sends the draft back to the investigation, saying what to change."""
    require_perm(actor, "complaints.approve_decision")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    _pending_approval_check(
        complaint, actor=actor, own_draft=_("The drafter of a decision cannot review it.")
    )
    if not reason.strip():
        raise ApplicationError(
            _("Say what to change."),
            code="invalid",
            status=400,
            fields={"reason": [_("Required.")]},
        )
    old_status = transition(complaint, Status.INVESTIGATING)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status"])
    events.decision_returned_event(
        complaint=complaint, actor=actor, from_status=old_status, reason=reason
    )
    if complaint.drafted_by_id:
        notify_staff(
            "staff.decision_returned",
            actor=actor,
            obj=complaint,
            user=complaint.drafted_by,
            key=timezone.now().isoformat(),
            reference=complaint.reference,
            reason=reason,
        )
    return complaint


@transaction.atomic
def complaint_close(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """Close a decided case, only once its decision notice was actually delivered."""
    require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if complaint.status != Status.DECIDED:
        raise ApplicationError(
            _("Only a decided complaint can be closed."), code="invalid_complaint_transition"
        )
    answer_event = (
        "complaint.review_decided"
        if complaint.reviews.filter(status=ReviewStatus.DECIDED).exists()
        else "complaint.decided"
    )
    from notices.selectors import notice_outcome_blocks  # issue 14 item 13

    if notice_outcome_blocks(obj=complaint, event=answer_event):
        raise ApplicationError(
            _(
                "Whether the decision notice reached the customer is unknown: confirm its "
                "delivery or resend it before closing the case."
            ),
            code="notice_outcome_unknown",
        )
    if not notice_is_delivered(event=answer_event, obj=complaint):
        raise ApplicationError(
            _("The decision notice has not been delivered to the customer yet."),
            code="notice_undelivered",
        )
    if complaint.reviews.filter(status=ReviewStatus.SUBMITTED).exists():
        raise ApplicationError(_("A review is still open."), code="review_open")
    old_status = transition(complaint, Status.CLOSED)
    complaint.closed_at = timezone.now()
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status", "closed_at"])
    events.complaint_closed_event(complaint=complaint, actor=actor, from_status=old_status)
    return complaint
