"""Celery tasks of the outbox. Tasks take ids and call one service; the services publish these
tasks by name (`NOTICE_SEND_TASK`, `NOTICE_SEND_BATCH_TASK`), so they never import this module.
`notices.sweep` is on the beat schedule (backoffice/celery.py) every NOTICES_SWEEP_SECONDS."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .services import (
    NOTICE_SEND_BATCH_TASK,
    NOTICE_SEND_TASK,
    notice_mark_requeued,
    notice_send,
    notices_send_batch,
    notices_sweep,
)

logger = logging.getLogger(__name__)


@shared_task(name=NOTICE_SEND_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def notice_send_task(notice_id: int) -> str:
    outcome = notice_send(notice_id=notice_id)
    if outcome.retry_at is not None:
        wait = (outcome.retry_at - timezone.now()).total_seconds()
        # Short waits ride on the broker; long ones stay parked in the database for the
        # sweep (a long countdown would outlive Redis's visibility timeout and be redelivered).
        if wait <= settings.NOTICES_MAX_COUNTDOWN.total_seconds():
            try:
                notice_send_task.apply_async((notice_id,), countdown=max(wait, 0), retry=False)
            except Exception:
                logger.exception("could not requeue notice %s; the sweeper will", notice_id)
            else:
                notice_mark_requeued(notice_id)
    return outcome.status


@shared_task(
    name=NOTICE_SEND_BATCH_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def notices_send_batch_task(notice_ids: list[int]) -> dict[str, int]:
    # Retries of a batch stay parked in the database: the sweep publishes them when due.
    return notices_send_batch(notice_ids=notice_ids)


@shared_task(name="notices.sweep", acks_late=True, ignore_result=True)
def notices_sweep_task() -> dict[str, int]:
    return notices_sweep()
