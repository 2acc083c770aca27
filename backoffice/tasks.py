"""The beat-driven sweep task (wiring: it calls every app's sweep through backoffice.sweep)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .sweep import sweep_all


@shared_task(name="backoffice.sweep", acks_late=True, ignore_result=True)
def sweep_task() -> dict:
    return sweep_all(now=timezone.now())
