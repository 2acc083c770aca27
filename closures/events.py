"""The closure's case history: one small function per event type (Saleor's `events.py`), each
writing one ClosureEvent with its typed fields, in the caller's transaction, with its history
row (who and why). Services call these; nothing else writes ClosureEvent, except the risk scan,
which writes the rows `closure_proposed_event` would, set-based (closures/risk_scan.py; a test
holds the two paths to the same rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from accounts.models import User
from core.audit import save_with_history

from .enums import ClosureEventKind, ClosureStatus
from .models import Appeal, ClosureEvent, ClosureRequest

# The staff notice of the 2-days-before reminder on an appeal (closures/sweeps.py).
APPEAL_REMINDER_EVENT = "staff.appeal_reminder"


def _event_write(
    closure: ClosureRequest,
    *,
    kind: str,
    actor: User,
    reason: str = "",
    at: datetime | None = None,
    **fields: Any,
) -> ClosureEvent:
    """`at`: when it happened, if not now (a service called with its own `now=`)."""
    event = ClosureEvent(closure=closure, kind=kind, actor=actor, reason=reason, **fields)
    if at is not None:
        event.at = at
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


def campaign_closure_events(
    *,
    closure: ClosureRequest,
    proposer_id: int,
    approver: User,
    proposal_reason: str,
    approval_reason: str,
    notice_event: str,
    proposed_at: datetime,
    approved_at: datetime,
    noticed_at: datetime,
    history_reason: str,
) -> list[ClosureEvent]:
    """The three events of a campaign's closure (proposed by the campaign's creator, approved
    by its reviewer, notice sent), the rows the campaign's set-based statement writes
    (closures/services/campaigns.py `_batch_sql`): every history row by the approver, with the
    batch's reason and time. Its ORM path (SQLite) writes them through here."""
    steps = [
        {"kind": ClosureEventKind.PROPOSED, "actor_id": proposer_id, "reason": proposal_reason,
         "new_status": ClosureStatus.PENDING_REVIEW, "at": proposed_at},
        {"kind": ClosureEventKind.APPROVED, "actor_id": approver.pk, "reason": approval_reason,
         "old_status": ClosureStatus.PENDING_REVIEW, "new_status": closure.status,
         "at": approved_at},
        {"kind": ClosureEventKind.NOTICE_SENT, "actor_id": approver.pk,
         "notice_event": notice_event, "at": noticed_at},
    ]  # fmt: skip
    events = []
    for fields in steps:
        event = ClosureEvent(closure=closure, **fields)
        event._history_date = noticed_at  # noqa: SLF001 - simple-history's hook
        save_with_history(event, actor=approver, reason=history_reason)
        events.append(event)
    return events


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


def appeal_filed_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, at: datetime | None = None
) -> ClosureEvent:
    return _event_write(
        closure, kind=ClosureEventKind.APPEAL_FILED, actor=actor, appeal=appeal, at=at
    )


def appeal_taken_up_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, at: datetime | None = None
) -> ClosureEvent:
    return _event_write(
        closure, kind=ClosureEventKind.APPEAL_REVIEW, actor=actor, appeal=appeal, at=at
    )


def appeal_upheld_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, reason: str, at: datetime | None = None
) -> ClosureEvent:
    return _event_write(
        closure,
        kind=ClosureEventKind.APPEAL_UPHELD,
        actor=actor,
        reason=reason,
        appeal=appeal,
        at=at,
    )


def appeal_dismissed_event(
    *, closure: ClosureRequest, appeal: Appeal, actor: User, reason: str, at: datetime | None = None
) -> ClosureEvent:
    return _event_write(
        closure,
        kind=ClosureEventKind.APPEAL_DISMISSED,
        actor=actor,
        reason=reason,
        appeal=appeal,
        at=at,
    )


def closure_reversed_event(
    *,
    closure: ClosureRequest,
    appeal: Appeal,
    actor: User,
    old_status: str,
    reason: str,
    at: datetime | None = None,
) -> ClosureEvent:
    return _event_write(
        closure,
        kind=ClosureEventKind.REVERSED,
        actor=actor,
        reason=reason,
        old_status=old_status,
        new_status=closure.status,
        appeal=appeal,
        at=at,
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
