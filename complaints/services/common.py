"""Shared helpers of the complaint services: locks, transitions, case events, notices."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import hooks as account_hooks
from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError, Forbidden

from .. import clock
from ..enums import (
    TRANSITIONS,
    Category,
    EventType,
    Status,
)
from ..models import (
    CaseEvent,
    Complaint,
)

INCIDENT_THRESHOLD = 5
INCIDENT_WINDOW = timedelta(hours=24)


def _reference() -> str:
    return f"CP{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def complaint_for_update(*, complaint_id: int) -> Complaint:
    try:
        return Complaint.objects.select_for_update().get(pk=complaint_id)
    except Complaint.DoesNotExist as exc:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404) from exc


def _transition(complaint: Complaint, new_status: str) -> str:
    old = complaint.status
    if new_status not in TRANSITIONS[old]:
        raise ApplicationError(
            _("The complaint cannot go from %(old)s to %(new)s.")
            % {"old": complaint.get_status_display(), "new": Status(new_status).label},
            code="invalid_complaint_transition",
        )
    complaint.status = new_status
    return old


def _event(
    complaint: Complaint,
    type: str,
    *,
    actor: User,
    old: str = "",
    new: str = "",
    text: str = "",
    visible: bool = False,
    at: datetime | None = None,
) -> CaseEvent:
    event = CaseEvent(
        complaint=complaint,
        type=type,
        actor=actor,
        old=str(old)[:64],
        new=str(new)[:64],
        text=text,
        customer_visible=visible,
        at=at or timezone.now(),
    )
    save_with_history(event, actor=actor, reason=str(EventType(type).label))
    return event


def _require_perm(actor: User, perm: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(perm)):
        raise Forbidden(_("You are not allowed to do this."), code="forbidden")


def _context(complaint: Complaint, **extra) -> dict:
    return {
        "reference": complaint.reference,
        "category": complaint.get_category_display(),
        "due_at": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M"),
        "url": f"{settings.PORTAL_BASE_URL}/portal/complaints/{complaint.reference}/",
        **extra,
    }


def _notify_customer(complaint: Complaint, event: str, *, actor: User, key: str = "", **extra):
    from notices.services import notice_enqueue

    return notice_enqueue(
        event=event,
        recipient=complaint.customer.user,
        context=_context(complaint, **extra),
        actor=actor,
        obj=complaint,
        key=key,
    )


def _notify_staff(event: str, *, actor: User, obj=None, role=None, user=None, key="", **ctx):
    from notices.services import notice_enqueue_staff

    return notice_enqueue_staff(
        event=event, context=ctx, actor=actor, role=role, user=user, obj=obj, key=key
    )


def _recompute_due(complaint: Complaint) -> None:
    complaint.due_at = clock.add_calendar_days(
        complaint.received_at, complaint.clock_days + complaint.paused_days
    )


def complaint_staff_with_stake(*, complaint: Complaint) -> set[int]:
    """Staff who may not handle this case (conflict of interest)."""
    stake: set[int] = set()
    if complaint.category == Category.CLOSURE and complaint.account_id:
        stake |= account_hooks.staff_with_stake(account_id=complaint.account_id)
    return stake
