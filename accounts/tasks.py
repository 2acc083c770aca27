"""Celery tasks of the accounts app. Tasks take ids and call one service; the services publish
them by name, so they never import this module."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from .bureau.services import BUREAU_SUBMIT_TASK, submission_send

logger = logging.getLogger(__name__)

# Retries sooner than this ride on the broker; later ones wait in the database for the sweep.
_MAX_COUNTDOWN_SECONDS = 300


@shared_task(
    name=BUREAU_SUBMIT_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def bureau_submit_task(submission_id: int) -> str:
    outcome = submission_send(submission_id=submission_id)
    if outcome.retry_at is not None:
        wait = (outcome.retry_at - timezone.now()).total_seconds()
        if wait <= _MAX_COUNTDOWN_SECONDS:
            try:
                bureau_submit_task.apply_async(
                    (submission_id,), countdown=max(wait, 0), retry=False
                )
            except Exception:
                logger.exception("could not requeue bureau submission %s", submission_id)
    return outcome.status


@shared_task(name="accounts.refresh_delinquency", ignore_result=True)
def refresh_delinquency_task(incremental: bool = True) -> int:
    """The nightly refresh of the overdue figures (incremental after the first run)."""
    from .delinquency import delinquency_refresh

    return delinquency_refresh(incremental=incremental).changed
