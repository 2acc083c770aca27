"""The decision per disputed record, its approval (maker-checker, step-up) and closing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.enums import CorrectionKind, CorrectionStatus, LoanStatus
from accounts.models import CreditReportCorrection, LoanRecord, User
from core import roles
from core.audit import save_with_history
from core.errors import ApplicationError
from core.stepup import stepup_require

from .. import clock
from ..enums import (
    EventType,
    ItemOutcome,
    Outcome,
    ReviewStatus,
    RootCause,
    Status,
)
from ..models import (
    ZERO,
    Compensation,
    Complaint,
    DisputedItem,
)
from .common import (
    _event,
    _notify_customer,
    _notify_staff,
    _require_perm,
    _transition,
    complaint_for_update,
    complaint_staff_with_stake,
)


@dataclass(frozen=True)
class ItemDecision:
    item_id: int
    outcome: str
    reasons: str


def _reversal_total(items: Iterable[DisputedItem]) -> Decimal:
    return sum((i.loan.amount for i in items if i.outcome == ItemOutcome.UPHELD), ZERO)


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
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status not in (Status.RECEIVED, Status.INVESTIGATING):
        raise ApplicationError(
            _("A decision can only be drafted while the complaint is being investigated."),
            code="invalid_complaint_transition",
        )
    if actor.pk in complaint_staff_with_stake(complaint=complaint):
        raise ApplicationError(_("You have a stake in this case."), code="conflict_of_interest")
    errors: dict[str, list[str]] = {}
    if not decision_text.strip():
        errors["decision_text"] = [_("Required.")]
    if root_cause not in RootCause.values:
        errors["root_cause"] = [_("Choose a root cause.")]
    items = list(
        DisputedItem.objects.select_for_update()
        .filter(complaint=complaint)
        .select_related("loan")
        .order_by("pk")
    )
    by_id = {d.item_id: d for d in item_decisions}
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
    if errors:
        raise ApplicationError(
            _("The decision is not complete."), code="invalid", status=400, fields=errors
        )
    for item in items:
        d = by_id[item.pk]
        item.outcome = d.outcome
        item.reasons = d.reasons.strip()
        save_with_history(item, actor=actor, reason=reason, update_fields=["outcome", "reasons"])
    if items:
        upheld = sum(1 for i in items if i.outcome == ItemOutcome.UPHELD)
        outcome = (
            Outcome.UPHELD
            if upheld == len(items)
            else Outcome.REJECTED
            if upheld == 0
            else Outcome.PARTIALLY_UPHELD
        )
    if compensation_amount is not None:
        comp = Compensation.objects.filter(complaint=complaint).first()
        if comp is None:
            comp = Compensation(complaint=complaint, proposed_by=actor)
        comp.amount = compensation_amount
        comp.reason = compensation_reason.strip()
        comp.proposed_by = actor
        save_with_history(comp, actor=actor, reason=reason)
    else:
        comp = None
    complaint.decision_text = decision_text.strip()
    complaint.root_cause = root_cause
    complaint.outcome = outcome
    complaint.drafted_by = actor
    complaint.approved_by = None
    old = complaint.status
    needs_approval = (
        _reversal_total(items) > settings.DECISION_APPROVAL_THRESHOLD or comp is not None
    )
    _event(complaint, EventType.DRAFTED, actor=actor, new=outcome, text=reason)
    if needs_approval:
        _transition(complaint, Status.PENDING_APPROVAL)
        save_with_history(
            complaint,
            actor=actor,
            reason=reason,
            update_fields=[
                "decision_text",
                "root_cause",
                "outcome",
                "drafted_by",
                "approved_by",
                "status",
            ],
        )
        _event(complaint, EventType.SUBMITTED, actor=actor, old=old, new=complaint.status)
        _notify_staff(
            "staff.decision_approval",
            actor=actor,
            obj=complaint,
            role=roles.REVIEWER,
            key=timezone.now().isoformat(),
            reference=complaint.reference,
        )
        return complaint
    return _decision_apply(complaint, items, actor=actor, reason=reason, old_status=old)


def _decision_apply(
    complaint: Complaint,
    items: list[DisputedItem],
    *,
    actor: User,
    reason: str,
    old_status: str,
) -> Complaint:
    now = timezone.now()
    origin = f"complaint:{complaint.reference}"
    if items:
        account = account_selectors.account_for_update(account_id=items[0].loan.account_id)
        loans = {
            loan.pk: loan
            for loan in LoanRecord.objects.select_for_update()
            .filter(pk__in=[i.loan_id for i in items])
            .order_by("pk")
        }
        objections = {
            c.loan_id: c
            for c in CreditReportCorrection.objects.select_for_update()
            .filter(origin=origin, kind=CorrectionKind.OBJECTION, loan_id__in=list(loans))
            .order_by("pk")
        }
        restored = ZERO
        for item in items:
            loan = loans[item.loan_id]
            if item.outcome == ItemOutcome.UPHELD:
                account_services.loan_transition_check(loan, LoanStatus.REVERSED)
                item.reversed_outstanding = loan.outstanding_amount
                item.refunded_repaid = loan.amount - loan.outstanding_amount
                item.refunded_fees = loan.fees
                item.refunded_interest = loan.interest
                restored += loan.outstanding_amount
                loan.status = LoanStatus.REVERSED
                loan.outstanding_amount = ZERO
                loan.fees = ZERO
                loan.interest = ZERO
                loan.collection_paused = True
                save_with_history(
                    loan,
                    actor=actor,
                    reason=origin,
                    update_fields=[
                        "status",
                        "outstanding_amount",
                        "fees",
                        "interest",
                        "collection_paused",
                    ],
                )
                correction = CreditReportCorrection(
                    account=account,
                    loan=loan,
                    kind=CorrectionKind.CORRECTION,
                    reason=item.reasons,
                    origin=origin,
                    due_at=clock.add_calendar_days(complaint.received_at, clock.OBJECTION_DAYS),
                )
                save_with_history(correction, actor=actor, reason=reason)
                _event(
                    complaint,
                    EventType.LOAN_REVERSED,
                    actor=actor,
                    old=LoanStatus.DISPUTED,
                    new=LoanStatus.REVERSED,
                    text=loan.reference,
                    visible=True,
                )
            elif loan.status == LoanStatus.DISPUTED:
                # Rejected: the record stands again; collection resumes.
                loan.status = (
                    LoanStatus.POSTED if loan.outstanding_amount > 0 else (LoanStatus.REPAID)
                )
                loan.collection_paused = False
                save_with_history(
                    loan, actor=actor, reason=origin, update_fields=["status", "collection_paused"]
                )
            item.applied_at = now
            save_with_history(
                item,
                actor=actor,
                reason=reason,
                update_fields=[
                    "reversed_outstanding",
                    "refunded_repaid",
                    "refunded_fees",
                    "refunded_interest",
                    "applied_at",
                ],
            )
            objection = objections.get(loan.pk)
            if objection is not None and objection.status in (
                CorrectionStatus.OPEN,
                CorrectionStatus.SENT,
            ):
                objection.status = CorrectionStatus.SETTLED
                objection.settled_at = now
                save_with_history(
                    objection, actor=actor, reason=reason, update_fields=["status", "settled_at"]
                )
        if restored:
            account.outstanding_balance -= restored
            account.available_credit = min(
                account.credit_limit, account.available_credit + restored
            )
            save_with_history(
                account,
                actor=actor,
                reason=origin,
                update_fields=["outstanding_balance", "available_credit"],
            )
    comp = Compensation.objects.select_for_update().filter(complaint=complaint).first()
    if comp is not None and comp.paid_at is None:
        comp.paid_at = now
        save_with_history(comp, actor=actor, reason=reason, update_fields=["paid_at"])

    _transition(complaint, Status.DECIDED)
    complaint.decided_at = now
    complaint.paused_at = None
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=[
            "status",
            "decided_at",
            "decision_text",
            "root_cause",
            "outcome",
            "drafted_by",
            "approved_by",
            "paused_at",
        ],
    )
    _event(
        complaint,
        EventType.DECIDED,
        actor=actor,
        old=old_status,
        new=complaint.outcome,
        text=complaint.decision_text,
        visible=True,
    )
    lines = []
    trails = _trail_summaries([i.loan_id for i in items if i.outcome == ItemOutcome.REJECTED])
    for item in items:
        line = (
            f"{item.loan.reference} ({item.loan.amount}): "
            f"{ItemOutcome(item.outcome).label} - {item.reasons}"
        )
        if item.outcome == ItemOutcome.REJECTED and trails.get(item.loan_id):
            # Rejected: tell the customer which evidence shows they authorized it.
            line += " | " + _("Authorization on record: %(trail)s") % {
                "trail": "; ".join(trails[item.loan_id])
            }
        lines.append(line)
    _notify_customer(
        complaint,
        "complaint.decided",
        actor=actor,
        key=now.isoformat(),
        outcome=str(Outcome(complaint.outcome).label),
        decision_text=complaint.decision_text,
        items=lines,
        compensation=str(comp.amount) if comp is not None else "",
        review_deadline=timezone.localtime(
            clock.add_calendar_days(now, clock.REVIEW_WINDOW_DAYS)
        ).strftime("%Y-%m-%d"),
    )
    return complaint


def _trail_summaries(loan_ids: list[int]) -> dict[int, list[str]]:
    from accounts.models import AuthorizationEvent

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


def _decision_for_review(*, complaint_id: int, actor: User, own_draft: str) -> Complaint:
    """Lock a complaint whose decision waits for approval, for a reviewer who did not draft it
    (`own_draft` is the refusal when they did)."""
    _require_perm(actor, "complaints.approve_decision")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status != Status.PENDING_APPROVAL:
        raise ApplicationError(
            _("This decision is not waiting for approval."), code="invalid_complaint_transition"
        )
    if complaint.drafted_by_id == actor.pk:
        raise ApplicationError(own_draft, code="maker_checker", status=403)
    return complaint


@transaction.atomic
def complaint_decision_approve(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """A reviewer (not the drafter, with a fresh one-time code) approves: the decision applies."""
    complaint = _decision_for_review(
        complaint_id=complaint_id,
        actor=actor,
        own_draft=_("The drafter of a decision cannot approve it."),
    )
    stepup_require(actor=actor)
    complaint.approved_by = actor
    _event(complaint, EventType.APPROVED, actor=actor, text=reason)
    items = list(
        DisputedItem.objects.select_for_update()
        .filter(complaint=complaint)
        .select_related("loan")
        .order_by("pk")
    )
    return _decision_apply(
        complaint, items, actor=actor, reason=reason, old_status=Status.PENDING_APPROVAL
    )


@transaction.atomic
def complaint_decision_return(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    complaint = _decision_for_review(
        complaint_id=complaint_id,
        actor=actor,
        own_draft=_("The drafter of a decision cannot review it."),
    )
    if not reason.strip():
        raise ApplicationError(
            _("Say what to change."),
            code="invalid",
            status=400,
            fields={"reason": [_("Required.")]},
        )
    old = _transition(complaint, Status.INVESTIGATING)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status"])
    _event(complaint, EventType.RETURNED, actor=actor, old=old, new=complaint.status, text=reason)
    if complaint.drafted_by_id:
        _notify_staff(
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
    from notices.services import notice_is_delivered

    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status != Status.DECIDED:
        raise ApplicationError(
            _("Only a decided complaint can be closed."), code="invalid_complaint_transition"
        )
    answer_event = (
        "complaint.review_decided"
        if complaint.reviews.filter(status=ReviewStatus.DECIDED).exists()
        else "complaint.decided"
    )
    if not notice_is_delivered(event=answer_event, obj=complaint):
        raise ApplicationError(
            _("The decision notice has not been delivered to the customer yet."),
            code="notice_undelivered",
        )
    if complaint.reviews.filter(status=ReviewStatus.SUBMITTED).exists():
        raise ApplicationError(_("A review is still open."), code="review_open")
    old = _transition(complaint, Status.CLOSED)
    complaint.closed_at = timezone.now()
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status", "closed_at"])
    _event(complaint, EventType.CLOSED, actor=actor, old=old, new=complaint.status, visible=True)
    return complaint
