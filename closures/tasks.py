"""Celery tasks of the closures app: thin, each calls one service. The risk scan runs on the beat
schedule (backoffice/celery.py); taking closures into effect, expiring unconfirmed requests and
escalating appeals run in `backoffice.sweep` (closures.sweeps.closures_sweep)."""

from __future__ import annotations

from celery import shared_task

from core.audit import system_actor

from .risk_scan import risk_scan_run


@shared_task(name="closures.run_risk_scan")
def run_risk_scan() -> int:
    return risk_scan_run(actor=system_actor("risk-scan")).proposed
