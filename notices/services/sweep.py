"""The outbox's sweep (beat: `notices.sweep` every NOTICES_SWEEP_SECONDS, and the minutely
`backoffice.sweep`; `manage.py sweep`):

1. rows stuck in `sending` past the lease lost their worker after the claim: `unknown` (the
   provider may have accepted them), one staff alert each;
2. pending rows past their `expires_at`: `expired`, the owning app's hook runs;
3. pending rows never published (`published_at` null: the broker was down at commit, a retry
   parked in the database) whose time has come: published at once;
4. pending rows published but still not picked up NOTICES_SWEEP_GRACE after they were due and
   published (a message lost by the broker): published again.

So after a broker outage every notice goes out with the first sweep after the broker is back,
and a parked retry goes out with the first sweep after its time.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import system_actor

from ..enums import NoticeStatus
from ..models import Notice
from .publish import notices_publish
from .send import notice_expire, notice_mark_unknown

LOST_WORKER_ERROR = (
    "The worker was lost after it claimed this notice, possibly after the provider accepted "
    "it; the outcome is unknown, so the notice was not sent again automatically."
)


def _stale_to_unknown(*, now: datetime, limit: int, actor) -> int:
    stale_before = now - settings.NOTICES_SENDING_LEASE
    with transaction.atomic():
        rows = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(status=NoticeStatus.SENDING, claimed_at__lt=stale_before)
            .order_by("pk")[:limit]
        )
        for notice in rows:
            notice.last_error = LOST_WORKER_ERROR
            notice_mark_unknown(notice, actor=actor, reason="sending lease expired")
    return len(rows)


def _expire(*, now: datetime, limit: int, actor) -> int:
    with transaction.atomic():
        rows = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(status=NoticeStatus.PENDING, expires_at__lte=now)
            .order_by("pk")[:limit]
        )
        for notice in rows:
            notice_expire(notice, actor=actor)
    return len(rows)


def notices_sweep(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Run the four steps above; returns what each did."""
    now = now or timezone.now()
    limit = limit or settings.NOTICES_SWEEP_BATCH
    actor = system_actor("notices-sweep")
    stale = _stale_to_unknown(now=now, limit=limit, actor=actor)
    expired = _expire(now=now, limit=limit, actor=actor)
    pending = Notice.objects.filter(status=NoticeStatus.PENDING).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    never_published = list(
        pending.filter(published_at__isnull=True, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    before = now - settings.NOTICES_SWEEP_GRACE
    lost = list(
        pending.filter(published_at__lte=before, next_attempt_at__lte=before)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: max(limit - len(never_published), 0)]
    )
    due_ids = never_published + lost
    published = notices_publish(due_ids) if due_ids else 0
    return {
        "due": len(due_ids),
        "unpublished": len(never_published),
        "published": published,
        "stale_unknown": stale,
        "expired": expired,
    }
