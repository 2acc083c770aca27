"""Celery tasks of the complaints app: thin wrappers around services and the sweep."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="complaints.sweep")
def complaints_sweep_task() -> dict[str, int]:
    from .sweeps import complaints_sweep

    return complaints_sweep()
