"""The closures part of the periodic sweep (run by `backoffice.sweep`, the Celery beat task and
`manage.py sweep`): closures whose date has come take effect, unconfirmed customer requests are
withdrawn, appeals due within 2 days are reminded about (once each) and overdue ones escalated
to managers, and the daily-spike alert is checked."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import User
from core.audit import save_with_history, system_actor
from core.clock import REMINDER_BEFORE
from notices.services import notice_enqueue_staff

from . import events, locks, selectors, services
from .anomaly import alerts_daily_check
from .enums import OPEN_APPEAL_STATUSES, ClosureEventKind
from .models import ClosureEvent

REMINDER_REASON = "reminder sent: decide by %(due_at)s"


def _appeal_reminded(appeal_ref: OuterRef) -> Exists:
    return Exists(
        ClosureEvent.objects.filter(
            appeal_id=appeal_ref,
            kind=ClosureEventKind.NOTICE_SENT,
            notice_event=events.APPEAL_REMINDER_EVENT,
        )
    )


def appeals_remind(*, actor: User, now: datetime) -> int:
    """Open appeals due within 2 days: their reviewing manager (the managers while none took
    it up) is reminded once per appeal, recorded as a closure event."""
    ids = list(
        selectors.appeals_to_decide()
        .filter(due_at__gt=now, due_at__lte=now + REMINDER_BEFORE)
        .exclude(_appeal_reminded(OuterRef("pk")))
        .values_list("pk", flat=True)[:200]
    )
    reminded = 0
    for appeal_id in ids:
        with transaction.atomic():
            appeal = locks.appeal_for_update(appeal_id=appeal_id)
            if (
                appeal.status not in OPEN_APPEAL_STATUSES
                or ClosureEvent.objects.filter(
                    appeal=appeal,
                    kind=ClosureEventKind.NOTICE_SENT,
                    notice_event=events.APPEAL_REMINDER_EVENT,
                ).exists()
            ):
                continue
            due = timezone.localtime(appeal.due_at).strftime("%Y-%m-%d %H:%M")
            events.appeal_reminder_event(
                appeal=appeal, actor=actor, reason=REMINDER_REASON % {"due_at": due}
            )
            target = {"user": appeal.reviewer} if appeal.reviewer_id else {"role": "manager"}
            notice_enqueue_staff(
                event=events.APPEAL_REMINDER_EVENT,
                context={
                    "reference": appeal.reference,
                    "due_at": due,
                    "link": f"{settings.PORTAL_BASE_URL}/admin/closures/appeal/{appeal.pk}/change/",
                },
                actor=actor,
                obj=appeal,
                key=appeal.due_at.isoformat(),
                **target,
            )
            reminded += 1
    return reminded


def appeals_escalate_overdue(*, actor: User, now: datetime) -> int:
    """Open appeals past their 15-day deadline: managers are told once per appeal."""
    ids = list(
        selectors.appeals_to_decide()
        .filter(due_at__lt=now, escalated_at__isnull=True)
        .values_list("pk", flat=True)[:200]
    )
    for appeal_id in ids:
        with transaction.atomic():
            appeal = locks.appeal_for_update(appeal_id=appeal_id)
            if appeal.escalated_at is not None:
                continue
            appeal.escalated_at = now
            save_with_history(
                appeal, actor=actor, reason="past its deadline", update_fields=["escalated_at"]
            )
            notice_enqueue_staff(
                event="staff.appeal_overdue",
                context={
                    "reference": appeal.reference,
                    "due_at": appeal.due_at,
                    "link": f"{settings.PORTAL_BASE_URL}/admin/closures/appeal/{appeal.pk}/change/",
                },
                actor=actor,
                role="manager",
                obj=appeal,
            )
    return len(ids)


def closures_sweep(*, now: datetime | None = None, actor: User | None = None) -> dict[str, int]:
    now = now or timezone.now()
    actor = actor or system_actor("closures-sweep")
    took_effect = services.closures_take_effect(actor=actor, now=now)
    expired = services.closures_expire_unconfirmed(actor=actor, now=now)
    reminded = appeals_remind(actor=actor, now=now)
    escalated = appeals_escalate_overdue(actor=actor, now=now)
    with transaction.atomic():
        alerts_daily_check(actor=actor, now=now)
    return {
        "took_effect": took_effect,
        "expired": expired,
        "appeals_reminded": reminded,
        "appeals_escalated": escalated,
    }
