"""Celery tasks of the closures app: thin, each calls one service. Taking closures into effect,
expiring unconfirmed requests and escalating appeals run in `backoffice.sweep`
(closures.sweeps.closures_sweep)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="closures.run_risk_scan")
def run_risk_scan() -> int:
    from core.audit import system_actor

    from .risk_scan import risk_scan_run

    return risk_scan_run(actor=system_actor("risk-scan")).proposed
