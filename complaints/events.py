"""The case events of a complaint's timeline: one function per event type (Saleor's
`order/events.py`), each filling the typed fields of CaseEvent its type needs.

The services call these inside their transaction, after the change they record; the event's
history row carries the same actor. `customer_visible` is decided here, per type, so the
customer's timeline (portal and API) shows the same kinds of events whoever writes them.
(Notice events - what is sent to whom - are another thing: complaints/notice_events.py.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import LoanRecord, User
from core.audit import save_with_history

from .enums import EventType, Status
from .models import CaseEvent, Complaint, VerificationRequest

# An internal note's timeline entry repeats its beginning only; the note itself is kept whole.
NOTE_EXCERPT = 200


def _write(
    complaint: Complaint,
    type: str,
    *,
    actor: User,
    visible: bool,
    text: str = "",
    at: datetime | None = None,
    **typed: Any,
) -> CaseEvent:
    event = CaseEvent(
        complaint=complaint,
        type=type,
        actor=actor,
        customer_visible=visible,
        text=text,
        at=at or timezone.now(),
        **typed,
    )
    save_with_history(event, actor=actor, reason=str(EventType(type).label))
    return event


# --- Intake ------------------------------------------------------------------------------------


def complaint_received_event(*, complaint: Complaint, actor: User, at: datetime) -> CaseEvent:
    return _write(
        complaint, EventType.RECEIVED, actor=actor, visible=True, at=at, to_status=Status.RECEIVED
    )


def loan_disputed_event(
    *,
    complaint: Complaint,
    actor: User,
    loan: LoanRecord,
    from_status: str,
    at: datetime | None = None,
) -> CaseEvent:
    return _write(
        complaint,
        EventType.LOAN_DISPUTED,
        actor=actor,
        visible=True,
        at=at,
        loan=loan,
        loan_from_status=from_status,
        loan_to_status=loan.status,
    )


def account_frozen_event(
    *, complaint: Complaint, actor: User, at: datetime | None = None
) -> CaseEvent:
    return _write(complaint, EventType.ACCOUNT_FROZEN, actor=actor, visible=True, at=at)


def complaint_acknowledged_event(*, complaint: Complaint, actor: User) -> CaseEvent:
    return _write(complaint, EventType.ACKNOWLEDGED, actor=actor, visible=True)


# --- Work on the case --------------------------------------------------------------------------


def complaint_assigned_event(
    *, complaint: Complaint, actor: User, previous_assignee: User | None, from_status: str
) -> CaseEvent:
    """One event per assignment; the customer sees the first one, which starts the
    investigation (the status change it made, if any, is on the same event)."""
    moved = from_status != complaint.status
    return _write(
        complaint,
        EventType.ASSIGNED,
        actor=actor,
        visible=moved,
        assignee=complaint.assignee,
        previous_assignee=previous_assignee,
        from_status=from_status if moved else "",
        to_status=complaint.status if moved else "",
    )


def complaint_note_event(*, complaint: Complaint, actor: User, text: str) -> CaseEvent:
    return _write(complaint, EventType.NOTE, actor=actor, visible=False, text=text[:NOTE_EXCERPT])


def complaint_message_event(*, complaint: Complaint, actor: User, text: str) -> CaseEvent:
    return _write(complaint, EventType.MESSAGE, actor=actor, visible=True, text=text)


# --- The decision clock ------------------------------------------------------------------------


def complaint_extended_event(
    *, complaint: Complaint, actor: User, previous_due_at: datetime, until: datetime, reason: str
) -> CaseEvent:
    return _write(
        complaint,
        EventType.EXTENDED,
        actor=actor,
        visible=True,
        text=reason,
        previous_due_at=previous_due_at,
        due_at=until,
    )


def complaint_extension_requested_event(
    *, complaint: Complaint, actor: User, reason: str
) -> CaseEvent:
    return _write(complaint, EventType.EXTENSION_REQUESTED, actor=actor, visible=False, text=reason)


def complaint_extension_refused_event(
    *, complaint: Complaint, actor: User, reason: str
) -> CaseEvent:
    return _write(complaint, EventType.EXTENSION_REFUSED, actor=actor, visible=False, text=reason)


def complaint_paused_event(
    *, complaint: Complaint, actor: User, pause_reason: str, reason: str
) -> CaseEvent:
    return _write(
        complaint,
        EventType.PAUSED,
        actor=actor,
        visible=True,
        text=reason,
        pause_reason=pause_reason,
    )


def complaint_resumed_event(
    *, complaint: Complaint, actor: User, previous_due_at: datetime, until: datetime, reason: str
) -> CaseEvent:
    return _write(
        complaint,
        EventType.RESUMED,
        actor=actor,
        visible=True,
        text=reason,
        previous_due_at=previous_due_at,
        due_at=until,
    )


def complaint_reminder_event(*, complaint: Complaint, actor: User, due_at: datetime) -> CaseEvent:
    return _write(complaint, EventType.REMINDER, actor=actor, visible=False, due_at=due_at)


def complaint_escalated_event(*, complaint: Complaint, actor: User, due_at: datetime) -> CaseEvent:
    return _write(complaint, EventType.ESCALATED, actor=actor, visible=False, due_at=due_at)


# --- The decision ------------------------------------------------------------------------------


def decision_drafted_event(
    *, complaint: Complaint, actor: User, outcome: str, reason: str
) -> CaseEvent:
    return _write(
        complaint, EventType.DRAFTED, actor=actor, visible=False, text=reason, outcome=outcome
    )


def decision_submitted_event(*, complaint: Complaint, actor: User, from_status: str) -> CaseEvent:
    return _write(
        complaint,
        EventType.SUBMITTED,
        actor=actor,
        visible=False,
        from_status=from_status,
        to_status=complaint.status,
    )


def decision_returned_event(
    *, complaint: Complaint, actor: User, from_status: str, reason: str
) -> CaseEvent:
    return _write(
        complaint,
        EventType.RETURNED,
        actor=actor,
        visible=False,
        text=reason,
        from_status=from_status,
        to_status=complaint.status,
    )


def decision_approved_event(*, complaint: Complaint, actor: User, reason: str) -> CaseEvent:
    return _write(complaint, EventType.APPROVED, actor=actor, visible=False, text=reason)


def loan_reversed_event(
    *, complaint: Complaint, actor: User, loan: LoanRecord, from_status: str
) -> CaseEvent:
    return _write(
        complaint,
        EventType.LOAN_REVERSED,
        actor=actor,
        visible=True,
        loan=loan,
        loan_from_status=from_status,
        loan_to_status=loan.status,
    )


def complaint_decided_event(*, complaint: Complaint, actor: User, from_status: str) -> CaseEvent:
    return _write(
        complaint,
        EventType.DECIDED,
        actor=actor,
        visible=True,
        text=complaint.decision_text,
        from_status=from_status,
        to_status=complaint.status,
        outcome=complaint.outcome,
    )


# --- Review, closing, withdrawal ---------------------------------------------------------------


def review_requested_event(
    *, complaint: Complaint, actor: User, review: VerificationRequest, from_status: str
) -> CaseEvent:
    return _write(
        complaint,
        EventType.REVIEW_REQUESTED,
        actor=actor,
        visible=True,
        text=review.grounds,
        review=review,
        from_status=from_status,
        to_status=complaint.status,
    )


def review_decided_event(
    *,
    complaint: Complaint,
    actor: User,
    review: VerificationRequest,
    from_status: str,
    outcome: str = "",
) -> CaseEvent:
    """`outcome`: the complaint's new outcome when an upheld review changed it."""
    return _write(
        complaint,
        EventType.REVIEW_DECIDED,
        actor=actor,
        visible=True,
        text=review.decision_text,
        review=review,
        from_status=from_status,
        to_status=complaint.status,
        outcome=outcome,
    )


def complaint_closed_event(*, complaint: Complaint, actor: User, from_status: str) -> CaseEvent:
    return _write(
        complaint,
        EventType.CLOSED,
        actor=actor,
        visible=True,
        from_status=from_status,
        to_status=complaint.status,
    )


def complaint_withdrawn_event(*, complaint: Complaint, actor: User, from_status: str) -> CaseEvent:
    """(The withdrawal's reason, a fixed message, is in the history rows, not on the timeline.)"""
    return _write(
        complaint,
        EventType.WITHDRAWN,
        actor=actor,
        visible=True,
        from_status=from_status,
        to_status=complaint.status,
    )


# --- Sweep reminders on reviews, regulator referrals ----------------------------------------------


def review_reminder_event(*, review: VerificationRequest, actor: User) -> CaseEvent:
    """The review's handler (or the managers) reminded 2 days before its deadline."""
    return _write(
        review.complaint,
        EventType.REMINDER,
        actor=actor,
        visible=False,
        review=review,
        due_at=review.due_at,
    )


def regulator_replied_event(*, complaint: Complaint, actor: User, reason: str) -> CaseEvent:
    """Our reply to the referring regulator, recorded with its delivery (on the complaint)."""
    return _write(
        complaint,
        EventType.REGULATOR_REPLIED,
        actor=actor,
        visible=False,
        text=reason,
        at=complaint.regulator_reply_delivered_at,
    )


# --- How the staff timeline reads each event -------------------------------------------------------


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _who(user: User | None) -> str:
    return user.get_username() if user is not None else "—"


def event_display(event: CaseEvent) -> str:
    """One sentence for the staff timeline, in the reader's language, from the event's type and
    typed fields ("Complaint received (portal)", "Loan record L-1 disputed", "Clock paused:
    mediation"): never a raw code, never "posted → disputed". Needs `actor`, `assignee`,
    `previous_assignee` and `loan` selected (complaints.selectors.complaint_timeline does)."""
    t = event.type
    loan = event.loan.reference if event.loan_id is not None else ""
    outcome = event.get_outcome_display() if event.outcome else ""
    if t == EventType.RECEIVED:
        return _("Complaint received (%(channel)s)") % {
            "channel": event.complaint.get_channel_display()
        }
    if t == EventType.ASSIGNED:
        if event.previous_assignee_id and event.assignee_id:
            text = _("Reassigned from %(before)s to %(after)s") % {
                "before": _who(event.previous_assignee),
                "after": _who(event.assignee),
            }
        elif event.assignee_id and event.assignee_id == event.actor_id:
            text = _("%(user)s took the case") % {"user": _who(event.assignee)}
        else:
            text = _("Assigned to %(user)s") % {"user": _who(event.assignee)}
        if event.to_status == Status.INVESTIGATING:
            text = _("%(text)s; investigation started") % {"text": text}
        return text
    if t == EventType.LOAN_DISPUTED:
        return _("Loan record %(loan)s disputed") % {"loan": loan}
    if t == EventType.LOAN_REVERSED:
        return _("Loan record %(loan)s reversed") % {"loan": loan}
    if t == EventType.EXTENDED:
        return _("Deadline extended from %(before)s to %(after)s") % {
            "before": _when(event.previous_due_at),
            "after": _when(event.due_at),
        }
    if t == EventType.PAUSED:
        return _("Clock paused: %(why)s") % {"why": event.get_pause_reason_display()}
    if t == EventType.RESUMED:
        return _("Clock resumed; decision now due %(due)s") % {"due": _when(event.due_at)}
    if t in (EventType.REMINDER, EventType.ESCALATED):
        return _("%(what)s (decision due %(due)s)") % {
            "what": event.get_type_display(),
            "due": _when(event.due_at),
        }
    if t == EventType.DRAFTED and outcome:
        return _("Decision drafted: %(outcome)s") % {"outcome": outcome}
    if t == EventType.RETURNED:
        return _("Decision returned for more work")
    if t == EventType.DECIDED and outcome:
        return _("Decision made: %(outcome)s") % {"outcome": outcome}
    if t == EventType.REVIEW_DECIDED and outcome:
        return _("Review decided: outcome now %(outcome)s") % {"outcome": outcome}
    return str(event.get_type_display())


def event_status_display(event: CaseEvent) -> str:
    """The case's status after the event when the event changed it ("Status: Investigating"),
    else ""; a received complaint says so in its sentence already."""
    if not event.to_status or event.to_status == event.from_status:
        return ""
    if event.type == EventType.RECEIVED:
        return ""
    return _("Status: %(status)s") % {"status": event.get_to_status_display()}


# Human names of the notices the complaints app sends (notice_events.EVENTS), for the case
# page's list of notices; an event missing here shows as "Notice".
NOTICE_LABELS = {
    "complaint.acknowledged": gettext_lazy("Receipt acknowledged to the customer"),
    "complaint.extended": gettext_lazy("Customer told of the extended deadline"),
    "complaint.paused": gettext_lazy("Customer told the clock is paused"),
    "complaint.resumed": gettext_lazy("Customer told the clock runs again"),
    "complaint.decided": gettext_lazy("Decision sent to the customer"),
    "complaint.message": gettext_lazy("Message to the customer"),
    "complaint.review_received": gettext_lazy("Review request acknowledged to the customer"),
    "complaint.review_decided": gettext_lazy("Review decision sent to the customer"),
    "staff.complaint_reminder": gettext_lazy("Deadline reminder to the assignee"),
    "staff.review_reminder": gettext_lazy("Review deadline reminder"),
    "staff.complaint_escalation": gettext_lazy("Escalation to the managers"),
    "staff.decision_approval": gettext_lazy("Decision waiting for approval, to the reviewers"),
    "staff.decision_returned": gettext_lazy("Decision returned, to the drafter"),
    "staff.incident_alert": gettext_lazy("Incident alert to the managers"),
    "staff.objection_overdue": gettext_lazy("Overdue bureau objection, to the managers"),
    "staff.complaint_customer_replied": gettext_lazy("Customer replied, to the assignee"),
}


def notice_label(event: str) -> str:
    return str(NOTICE_LABELS.get(event, gettext_lazy("Notice")))
