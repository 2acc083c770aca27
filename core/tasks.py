"""Celery task of core: the seal chain (beat, every minute)."""

from __future__ import annotations

from celery import shared_task

from .seals import audit_seal


@shared_task(name="core.audit_seal", acks_late=True, ignore_result=True)
def audit_seal_task() -> int:
    return audit_seal()
