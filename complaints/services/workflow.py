"""Assignment, notes, messages to the customer and the decision clock."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock
from ..enums import (
    OPEN_STATUSES,
    EventType,
    Outcome,
    Status,
)
from ..models import (
    CaseEvent,
    Complaint,
    InternalNote,
)
from .common import (
    _event,
    _notify_customer,
    _recompute_due,
    _require_perm,
    _transition,
    complaint_for_update,
    complaint_staff_with_stake,
)


@transaction.atomic
def complaint_assign(*, complaint_id: int, assignee: User, actor: User, reason: str) -> Complaint:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("Only open complaints can be assigned."), code="not_open")
    if not (
        assignee.is_active and assignee.is_staff and assignee.has_perm("complaints.work_complaint")
    ):
        raise ApplicationError(_("That user cannot work complaints."), code="invalid_assignee")
    if assignee.pk in complaint_staff_with_stake(complaint=complaint):
        raise ApplicationError(
            _("%(user)s has a stake in this case and cannot handle it.")
            % {"user": assignee.get_username()},
            code="conflict_of_interest",
        )
    old_assignee = complaint.assignee.get_username() if complaint.assignee_id else ""
    complaint.assignee = assignee
    fields = ["assignee"]
    old_status = complaint.status
    if complaint.status == Status.RECEIVED:
        _transition(complaint, Status.INVESTIGATING)
        fields.append("status")
    save_with_history(complaint, actor=actor, reason=reason, update_fields=fields)
    _event(
        complaint, EventType.ASSIGNED, actor=actor, old=old_assignee, new=assignee.get_username()
    )
    if old_status != complaint.status:
        _event(
            complaint,
            EventType.ASSIGNED,
            actor=actor,
            old=old_status,
            new=complaint.status,
            visible=True,
        )
    return complaint


@transaction.atomic
def complaint_note_add(
    *, complaint_id: int, actor: User, text: str, reason: str = ""
) -> InternalNote:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if not text.strip():
        raise ApplicationError(
            _("Write the note."), code="invalid", status=400, fields={"text": [_("Required.")]}
        )
    note = InternalNote(complaint=complaint, author=actor, text=text.strip())
    save_with_history(note, actor=actor, reason=reason or "note")
    _event(complaint, EventType.NOTE, actor=actor, text=text.strip()[:200])
    return note


@transaction.atomic
def complaint_message_send(*, complaint_id: int, actor: User, text: str) -> CaseEvent:
    """A message to the customer (shown in their timeline and sent to them), apart from the
    internal notes they never see."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if not text.strip():
        raise ApplicationError(
            _("Write the message."), code="invalid", status=400, fields={"text": [_("Required.")]}
        )
    event = _event(complaint, EventType.MESSAGE, actor=actor, text=text.strip(), visible=True)
    _notify_customer(
        complaint, "complaint.message", actor=actor, key=str(event.pk), message=text.strip()
    )
    return event


# --- Clocks ---


def _require_clock_running(complaint: Complaint) -> None:
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("The complaint is not open."), code="not_open")


@transaction.atomic
def complaint_extend(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """The agent extends the decision clock from 15 to 30 days, with a reason."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if not reason.strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    if complaint.clock_days >= clock.EXTENDED_DAYS:
        raise ApplicationError(
            _("Already extended; a further extension needs a manager's approval."),
            code="already_extended",
        )
    return _apply_extension(complaint, clock.EXTENDED_DAYS, actor=actor, reason=reason)


def _apply_extension(complaint: Complaint, days: int, *, actor: User, reason: str) -> Complaint:
    old_due = complaint.due_at
    complaint.clock_days = days
    _recompute_due(complaint)
    complaint.extension_requested_by = None
    complaint.extension_request_reason = ""
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=[
            "clock_days",
            "due_at",
            "extension_requested_by",
            "extension_request_reason",
        ],
    )
    _event(
        complaint,
        EventType.EXTENDED,
        actor=actor,
        old=old_due.isoformat(),
        new=complaint.due_at.isoformat(),
        text=reason,
        visible=True,
    )
    _notify_customer(complaint, "complaint.extended", actor=actor, key=str(days), reason=reason)
    return complaint


def _extension_request_set(
    complaint: Complaint,
    requested_by: User | None,
    request_reason: str,
    *,
    event: str,
    actor: User,
    reason: str,
) -> Complaint:
    """Record the pending request for a further extension (or, with None, that there is none)
    and its case event."""
    complaint.extension_requested_by = requested_by
    complaint.extension_request_reason = request_reason
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["extension_requested_by", "extension_request_reason"],
    )
    _event(complaint, event, actor=actor, text=reason)
    return complaint


@transaction.atomic
def complaint_extension_request(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """Ask a manager to extend to 60 days."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if complaint.clock_days != clock.EXTENDED_DAYS:
        raise ApplicationError(
            _("Only a complaint extended to 30 days can be extended further."),
            code="not_extended",
        )
    if complaint.extension_requested_by_id:
        raise ApplicationError(_("A further extension is already requested."), code="pending")
    if not reason.strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    return _extension_request_set(
        complaint,
        actor,
        reason.strip(),
        event=EventType.EXTENSION_REQUESTED,
        actor=actor,
        reason=reason,
    )


@transaction.atomic
def complaint_extension_approve(
    *, complaint_id: int, actor: User, reason: str, approve: bool = True
) -> Complaint:
    _require_perm(actor, "complaints.approve_extension")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if not complaint.extension_requested_by_id:
        raise ApplicationError(_("No further extension is requested."), code="no_request")
    if complaint.extension_requested_by_id == actor.pk:
        raise ApplicationError(_("You cannot approve your own request."), code="maker_checker")
    if approve:
        text = f"{complaint.extension_request_reason} / {reason}"
        return _apply_extension(complaint, clock.MAX_EXTENDED_DAYS, actor=actor, reason=text)
    return _extension_request_set(
        complaint, None, "", event=EventType.EXTENSION_REFUSED, actor=actor, reason=reason
    )


@transaction.atomic
def complaint_pause(
    *, complaint_id: int, actor: User, reason: str, pause_reason: str, now: datetime | None = None
) -> Complaint:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if complaint.paused_at is not None:
        raise ApplicationError(_("The clock is already paused."), code="already_paused")
    complaint.paused_at = now or timezone.now()
    complaint.pause_reason = pause_reason
    save_with_history(
        complaint, actor=actor, reason=reason, update_fields=["paused_at", "pause_reason"]
    )
    _event(complaint, EventType.PAUSED, actor=actor, new=pause_reason, text=reason, visible=True)
    _notify_customer(
        complaint,
        "complaint.paused",
        actor=actor,
        key=complaint.paused_at.isoformat(),
        reason=reason,
        pause_reason=complaint.get_pause_reason_display(),
    )
    return complaint


@transaction.atomic
def complaint_resume(
    *, complaint_id: int, actor: User, reason: str, now: datetime | None = None
) -> Complaint:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.paused_at is None:
        raise ApplicationError(_("The clock is not paused."), code="not_paused")
    now = now or timezone.now()
    days = clock.pause_days(clock.Pause(complaint.paused_at, now), now=now)
    old_due = complaint.due_at
    complaint.paused_days += days
    complaint.paused_at = None
    complaint.pause_reason = ""
    _recompute_due(complaint)
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["paused_days", "paused_at", "pause_reason", "due_at"],
    )
    _event(
        complaint,
        EventType.RESUMED,
        actor=actor,
        old=old_due.isoformat(),
        new=complaint.due_at.isoformat(),
        text=reason,
        visible=True,
    )
    _notify_customer(
        complaint, "complaint.resumed", actor=actor, key=now.isoformat(), reason=reason
    )
    return complaint


# --- Withdrawal -------------------------------------------------------------------------------


@transaction.atomic
def complaint_withdraw(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """The customer withdraws an undecided complaint: disputed loans stand again (collection
    resumes) and their credit-report objections are withdrawn."""
    from accounts.enums import CorrectionKind, CorrectionStatus, LoanStatus
    from accounts.models import CreditReportCorrection, LoanRecord

    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.customer.user_id != actor.pk:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404)
    if complaint.status not in (Status.RECEIVED, Status.INVESTIGATING):
        raise ApplicationError(
            _("Only a complaint still being investigated can be withdrawn."),
            code="invalid_complaint_transition",
        )
    origin = f"complaint:{complaint.reference}"
    loans = (
        LoanRecord.objects.select_for_update()
        .filter(disputed_items__complaint=complaint, status=LoanStatus.DISPUTED)
        .order_by("pk")
    )
    for loan in loans:
        loan.status = LoanStatus.POSTED if loan.outstanding_amount > 0 else LoanStatus.REPAID
        loan.collection_paused = False
        save_with_history(
            loan, actor=actor, reason=origin, update_fields=["status", "collection_paused"]
        )
    for correction in (
        CreditReportCorrection.objects.select_for_update()
        .filter(origin=origin, kind=CorrectionKind.OBJECTION, status=CorrectionStatus.OPEN)
        .order_by("pk")
    ):
        correction.status = CorrectionStatus.WITHDRAWN
        correction.settled_at = timezone.now()
        save_with_history(
            correction, actor=actor, reason=reason, update_fields=["status", "settled_at"]
        )
    old = complaint.status
    complaint.status = Status.WITHDRAWN
    complaint.outcome = Outcome.WITHDRAWN
    complaint.closed_at = timezone.now()
    save_with_history(
        complaint, actor=actor, reason=reason, update_fields=["status", "outcome", "closed_at"]
    )
    _event(
        complaint,
        EventType.CLOSED,
        actor=actor,
        old=old,
        new=Status.WITHDRAWN,
        text=reason,
        visible=True,
    )
    return complaint
