"""The outbox's sweep (run by `backoffice.sweep` every minute): publish the pending notices
whose time has come, and give up on rows whose worker was lost while sending."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import system_actor

from ..enums import NoticeStatus
from ..models import Notice
from .publish import notices_publish
from .send import notice_fail

LOST_WORKER_ERROR = (
    "The worker was lost while sending; the outcome is unknown, so the notice "
    "was not sent again automatically."
)


def notices_sweep(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Publish pending notices whose time has come (past a grace period, so that rows just
    published on commit are not published twice), and give up on rows stuck in `sending`
    past the lease (their worker died: at most once means we do not send again blindly)."""
    now = now or timezone.now()
    limit = limit or settings.NOTICES_SWEEP_BATCH
    actor = system_actor("notices-sweep")
    stale_before = now - settings.NOTICES_SENDING_LEASE
    stale = 0
    with transaction.atomic():
        rows = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(status=NoticeStatus.SENDING, claimed_at__lt=stale_before)
            .order_by("pk")[:limit]
        )
        for notice in rows:
            notice.last_error = LOST_WORKER_ERROR
            notice_fail(notice, actor=actor, reason="sending lease expired")
            stale += 1
    due_ids = list(
        Notice.objects.filter(
            status=NoticeStatus.PENDING,
            next_attempt_at__lte=now - settings.NOTICES_SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    published = notices_publish(due_ids) if due_ids else 0
    return {"due": len(due_ids), "published": published, "stale_failed": stale}
