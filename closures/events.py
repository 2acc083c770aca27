"""The closure's case history: one small function per event type (Saleor's `events.py`), each
writing one ClosureEvent with its typed fields, in the caller's transaction, with its history
row (who and why). Services call these; nothing else writes ClosureEvent, except the risk scan,
which writes the rows `closure_proposed_event` would, set-based (closures/risk_scan.py; a test
holds the two paths to the same rows)."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from core.audit import save_with_history

from .enums import ClosureEventKind
from .models import Appeal, ClosureEvent, ClosureRequest

# The staff notice of the 2-days-before reminder on an appeal (closures/sweeps.py).
APPEAL_REMINDER_EVENT = "staff.appeal_reminder"


def _event_write(
    closure: ClosureRequest, *, kind: str, actor: User, reason: str = "", **fields: Any
) -> ClosureEvent:
    event = ClosureEvent(closure=closure, kind=kind, actor=actor, reason=reason, **fields)
    save_with_history(event, actor=actor, reason=reason or kind)
    return event


def _transition_write(
    closure: ClosureRequest, *, kind: str, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    """A step that moved the closure: from `old_status` to the status it has now."""
    return _event_write(
        closure,
        kind=kind,
        actor=actor,
        reason=reason,
        old_status=old_status,
        new_status=closure.status,
    )


# --- The customer's request -----------------------------------------------------------------------


def closure_requested_event(*, closure: ClosureRequest, actor: User, reason: str) -> ClosureEvent:
    return _event_write(
        closure,
        kind=ClosureEventKind.REQUESTED,
        actor=actor,
        reason=reason,
        new_status=closure.status,
    )


def closure_code_sent_event(*, closure: ClosureRequest, actor: User, channel: str) -> ClosureEvent:
    return _event_write(closure, kind=ClosureEventKind.CODE_SENT, actor=actor, channel=channel)


def closure_confirmed_event(
    *, closure: ClosureRequest, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    return _transition_write(
        closure, kind=ClosureEventKind.CONFIRMED, actor=actor, old_status=old_status, reason=reason
    )


# --- Proposals and their review ------------------------------------------------------------------


def closure_proposed_event(*, closure: ClosureRequest, actor: User, reason: str) -> ClosureEvent:
    return _event_write(
        closure,
        kind=ClosureEventKind.PROPOSED,
        actor=actor,
        reason=reason,
        new_status=closure.status,
    )


def closure_frozen_event(*, closure: ClosureRequest, actor: User, reason: str) -> ClosureEvent:
    return _event_write(closure, kind=ClosureEventKind.FROZEN, actor=actor, reason=reason)


def closure_approved_event(
    *, closure: ClosureRequest, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    return _transition_write(
        closure, kind=ClosureEventKind.APPROVED, actor=actor, old_status=old_status, reason=reason
    )


def closure_notice_sent_event(
    *, closure: ClosureRequest, actor: User, notice_event: str
) -> ClosureEvent:
    return _event_write(
        closure, kind=ClosureEventKind.NOTICE_SENT, actor=actor, notice_event=notice_event
    )


def closure_rejected_event(
    *, closure: ClosureRequest, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    return _transition_write(
        closure, kind=ClosureEventKind.REJECTED, actor=actor, old_status=old_status, reason=reason
    )


def closure_withdrawn_event(
    *, closure: ClosureRequest, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    return _transition_write(
        closure, kind=ClosureEventKind.WITHDRAWN, actor=actor, old_status=old_status, reason=reason
    )


# --- Taking effect --------------------------------------------------------------------------------


def closure_took_effect_event(
    *, closure: ClosureRequest, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    return _transition_write(
        closure,
        kind=ClosureEventKind.TOOK_EFFECT,
        actor=actor,
        old_status=old_status,
        reason=reason,
    )


def closure_closed_event(*, closure: ClosureRequest, actor: User, reason: str) -> ClosureEvent:
    return _event_write(closure, kind=ClosureEventKind.CLOSED, actor=actor, reason=reason)


# --- Appeals --------------------------------------------------------------------------------------


def appeal_filed_event(*, closure: ClosureRequest, appeal: Appeal, actor: User) -> ClosureEvent:
    return _event_write(closure, kind=ClosureEventKind.APPEAL_FILED, actor=actor, appeal=appeal)


def appeal_taken_up_event(*, closure: ClosureRequest, appeal: Appeal, actor: User) -> ClosureEvent:
    return _event_write(closure, kind=ClosureEventKind.APPEAL_REVIEW, actor=actor, appeal=appeal)


def appeal_upheld_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, reason: str
) -> ClosureEvent:
    return _event_write(
        closure, kind=ClosureEventKind.APPEAL_UPHELD, actor=actor, reason=reason, appeal=appeal
    )


def appeal_dismissed_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, reason: str
) -> ClosureEvent:
    return _event_write(
        closure, kind=ClosureEventKind.APPEAL_DISMISSED, actor=actor, reason=reason, appeal=appeal
    )


def closure_reversed_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, old_status: str, reason: str
) -> ClosureEvent:
    return _event_write(
        closure,
        kind=ClosureEventKind.REVERSED,
        actor=actor,
        reason=reason,
        old_status=old_status,
        new_status=closure.status,
        appeal=appeal,
    )


def appeal_reminder_event(*, appeal: Appeal, actor: User, reason: str) -> ClosureEvent:
    """The appeal's reviewing manager (or the managers) reminded 2 days before its deadline:
    recorded as the notice it sent, so that the sweep reminds once per appeal."""
    return _event_write(
        appeal.closure,
        kind=ClosureEventKind.NOTICE_SENT,
        actor=actor,
        reason=reason,
        appeal=appeal,
        notice_event=APPEAL_REMINDER_EVENT,
    )
