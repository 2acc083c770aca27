"""Work on an open case: assignment, internal notes, messages to the customer, the decision
clock (extend to 30 days, ask a manager for 60, pause and resume), and the customer's
withdrawal (which lifts the dispute in the ledger: `loan_undispute`, `objections_withdraw`)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import services as account_services
from accounts.enums import LoanStatus
from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock, events
from ..enums import OPEN_STATUSES, Outcome, PauseReason, Status
from ..locks import complaint_for_update, complaint_with_ledger_for_update
from ..models import CaseEvent, Complaint, InternalNote
from .common import (
    complaint_staff_with_stake,
    notify_customer,
    origin_of,
    recompute_due,
    require_perm,
    require_reason,
    stake_refuse,
    transition,
)

NOTE_REASON = gettext_noop("internal note")


def _open_case_for_update(
    *, complaint_id: int, actor: User, perm: str = "complaints.work_complaint"
) -> Complaint:
    """Lock an open complaint for work on its clock (which runs while it is open)."""
    require_perm(actor, perm)
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("The complaint is not open."), code="not_open")
    return complaint


def _assignee_check(complaint: Complaint, assignee: User) -> None:
    if not (
        assignee.is_active and assignee.is_staff and assignee.has_perm("complaints.work_complaint")
    ):
        raise ApplicationError(_("That user cannot work complaints."), code="invalid_assignee")
    if assignee.pk in complaint_staff_with_stake(complaint=complaint):
        raise ApplicationError(
            _("%(user)s has a stake in this case and cannot handle it.")
            % {"user": assignee.get_username()},
            code="conflict_of_interest",
            status=403,
        )


@transaction.atomic
def complaint_assign(*, complaint_id: int, assignee: User, actor: User, reason: str) -> Complaint:
    """Give the case to `assignee`; the first assignment starts the investigation. One case
    event either way."""
    require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("Only open complaints can be assigned."), code="not_open")
    _assignee_check(complaint, assignee)
    previous = complaint.assignee
    complaint.assignee = assignee
    fields = ["assignee"]
    old_status = complaint.status
    if complaint.status == Status.RECEIVED:
        transition(complaint, Status.INVESTIGATING)
        fields.append("status")
    save_with_history(complaint, actor=actor, reason=reason, update_fields=fields)
    events.complaint_assigned_event(
        complaint=complaint, actor=actor, previous_assignee=previous, from_status=old_status
    )
    return complaint


@transaction.atomic
def complaint_note_add(
    *, complaint_id: int, actor: User, text: str, reason: str = ""
) -> InternalNote:
    require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if not text.strip():
        raise ApplicationError(
            _("Write the note."), code="invalid", status=400, fields={"text": [_("Required.")]}
        )
    note = InternalNote(complaint=complaint, author=actor, text=text.strip())
    save_with_history(note, actor=actor, reason=reason or NOTE_REASON)
    events.complaint_note_event(complaint=complaint, actor=actor, text=note.text)
    return note


@transaction.atomic
def complaint_message_send(*, complaint_id: int, actor: User, text: str) -> CaseEvent:
    """A message to the customer (shown in their timeline and sent to them), apart from the
    internal notes they never see."""
    require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if not text.strip():
        raise ApplicationError(
            _("Write the message."), code="invalid", status=400, fields={"text": [_("Required.")]}
        )
    event = events.complaint_message_event(complaint=complaint, actor=actor, text=text.strip())
    notify_customer(
        complaint, "complaint.message", actor=actor, key=str(event.pk), message=text.strip()
    )
    return event


# --- The decision clock ------------------------------------------------------------------------


@transaction.atomic
def complaint_extend(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """The agent extends the decision clock from 15 to 30 days, with a reason."""
    complaint = _open_case_for_update(complaint_id=complaint_id, actor=actor)
    require_reason(reason)
    if complaint.clock_days >= clock.EXTENDED_DAYS:
        raise ApplicationError(
            _("Already extended; a further extension needs a manager's approval."),
            code="already_extended",
        )
    return _extension_apply(complaint, clock.EXTENDED_DAYS, actor=actor, reason=reason)


def _extension_apply(complaint: Complaint, days: int, *, actor: User, reason: str) -> Complaint:
    previous_due_at = complaint.due_at
    complaint.clock_days = days
    recompute_due(complaint)
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
    events.complaint_extended_event(
        complaint=complaint,
        actor=actor,
        previous_due_at=previous_due_at,
        until=complaint.due_at,
        reason=reason,
    )
    notify_customer(complaint, "complaint.extended", actor=actor, key=str(days), reason=reason)
    return complaint


def _extension_request_set(
    complaint: Complaint,
    requested_by: User | None,
    request_reason: str,
    *,
    actor: User,
    reason: str,
) -> None:
    """Record the pending request for a further extension (or, with None, that there is none)."""
    complaint.extension_requested_by = requested_by
    complaint.extension_request_reason = request_reason
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["extension_requested_by", "extension_request_reason"],
    )


@transaction.atomic
def complaint_extension_request(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """Ask a manager to extend to 60 days."""
    complaint = _open_case_for_update(complaint_id=complaint_id, actor=actor)
    if complaint.clock_days != clock.EXTENDED_DAYS:
        raise ApplicationError(
            _("Only a complaint extended to 30 days can be extended further."),
            code="not_extended",
        )
    if complaint.extension_requested_by_id:
        raise ApplicationError(_("A further extension is already requested."), code="pending")
    require_reason(reason)
    _extension_request_set(complaint, actor, reason.strip(), actor=actor, reason=reason)
    events.complaint_extension_requested_event(complaint=complaint, actor=actor, reason=reason)
    return complaint


@transaction.atomic
def complaint_extension_approve(
    *, complaint_id: int, actor: User, reason: str, approve: bool = True
) -> Complaint:
    """A manager (not the one who asked) grants the 60 days, or refuses them."""
    complaint = _open_case_for_update(
        complaint_id=complaint_id, actor=actor, perm="complaints.approve_extension"
    )
    if not complaint.extension_requested_by_id:
        raise ApplicationError(_("No further extension is requested."), code="no_request")
    if complaint.extension_requested_by_id == actor.pk:
        raise ApplicationError(_("You cannot approve your own request."), code="maker_checker")
    if approve:
        text = f"{complaint.extension_request_reason} / {reason}"
        return _extension_apply(complaint, clock.MAX_EXTENDED_DAYS, actor=actor, reason=text)
    _extension_request_set(complaint, None, "", actor=actor, reason=reason)
    events.complaint_extension_refused_event(complaint=complaint, actor=actor, reason=reason)
    return complaint


def _long_pause_require(actor: User) -> None:
    """Pauses adding up to more than 30 days need a manager (the approver of extensions)."""
    if not actor.has_perm("complaints.approve_extension"):
        raise ApplicationError(
            _("Pauses of more than 30 days in all need a manager."),
            code="pause_needs_manager",
            status=403,
        )


@transaction.atomic
def complaint_pause(
    *, complaint_id: int, actor: User, reason: str, pause_reason: str, now: datetime | None = None
) -> Complaint:
    if pause_reason not in PauseReason.values:
        raise ApplicationError(
            _("Choose one of the reasons the clock may pause for."),
            code="invalid",
            status=400,
            fields={"pause_reason": [_("Not a valid choice.")]},
        )
    complaint = _open_case_for_update(complaint_id=complaint_id, actor=actor)
    if complaint.paused_at is not None:
        raise ApplicationError(_("The clock is already paused."), code="already_paused")
    if complaint.paused_total >= clock.PAUSE_LIMIT_WITHOUT_MANAGER:
        _long_pause_require(actor)
    complaint.paused_at = now or timezone.now()
    complaint.pause_reason = pause_reason
    save_with_history(
        complaint, actor=actor, reason=reason, update_fields=["paused_at", "pause_reason"]
    )
    events.complaint_paused_event(
        complaint=complaint, actor=actor, pause_reason=pause_reason, reason=reason
    )
    notify_customer(
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
    require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if complaint.paused_at is None:
        raise ApplicationError(_("The clock is not paused."), code="not_paused")
    now = now or timezone.now()
    paused = clock.pause_length(clock.Pause(complaint.paused_at, now), now=now)
    total = complaint.paused_total + paused
    if total > clock.PAUSE_LIMIT_WITHOUT_MANAGER:
        _long_pause_require(actor)
    previous_due_at = complaint.due_at
    complaint.paused_total = total
    complaint.paused_days = math.ceil(total / timedelta(days=1))
    complaint.paused_at = None
    complaint.pause_reason = ""
    recompute_due(complaint)
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["paused_total", "paused_days", "paused_at", "pause_reason", "due_at"],
    )
    events.complaint_resumed_event(
        complaint=complaint,
        actor=actor,
        previous_due_at=previous_due_at,
        until=complaint.due_at,
        reason=reason,
    )
    notify_customer(complaint, "complaint.resumed", actor=actor, key=now.isoformat(), reason=reason)
    return complaint


# --- Withdrawal --------------------------------------------------------------------------------


@transaction.atomic
def complaint_withdraw(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """The customer withdraws an undecided complaint: disputed loans stand again (collection
    resumes) and their credit-report objections are withdrawn."""
    case = complaint_with_ledger_for_update(complaint_id=complaint_id)
    complaint = case.complaint
    if complaint.customer.user_id != actor.pk:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404)
    old_status = transition(complaint, Status.WITHDRAWN)
    origin = origin_of(complaint)
    now = timezone.now()
    for loan in case.loans.values():
        if loan.status == LoanStatus.DISPUTED:
            account_services.loan_undispute(loan=loan, actor=actor, reason=origin)
    account_services.objections_withdraw(origin=origin, actor=actor, reason=reason, now=now)
    complaint.outcome = Outcome.WITHDRAWN
    complaint.closed_at = now
    save_with_history(
        complaint, actor=actor, reason=reason, update_fields=["status", "outcome", "closed_at"]
    )
    events.complaint_withdrawn_event(complaint=complaint, actor=actor, from_status=old_status)
    return complaint
