"""Celery tasks of the outbox. Tasks take ids and call one service; the services publish this
task by its name (`NOTICE_SEND_TASK`), so they never import this module."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from .services import NOTICE_SEND_TASK, notice_send

logger = logging.getLogger(__name__)


@shared_task(name=NOTICE_SEND_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def notice_send_task(notice_id: int) -> str:
    outcome = notice_send(notice_id=notice_id)
    if outcome.retry_at is not None:
        wait = (outcome.retry_at - timezone.now()).total_seconds()
        # Short waits ride on the broker; long ones live in the database for the sweeper
        # (a long countdown would outlive Redis's visibility timeout and be redelivered).
        if wait <= settings.NOTICES_MAX_COUNTDOWN.total_seconds():
            try:
                notice_send_task.apply_async((notice_id,), countdown=max(wait, 0), retry=False)
            except Exception:
                logger.exception("could not requeue notice %s; the sweeper will", notice_id)
    return outcome.status
