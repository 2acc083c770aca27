"""Celery tasks of the closures app: thin, each calls one service. The risk scan runs on the beat
schedule (backoffice/celery.py); taking closures into effect, expiring unconfirmed requests and
escalating appeals run in `backoffice.sweep` (closures.sweeps.closures_sweep). A policy closure
campaign's run is published when it is approved (`closures.campaign_run`); `closures.
campaigns_resume` publishes again the runs that stalled (a broker outage, a lost worker)."""

from __future__ import annotations

from celery import shared_task

from core.audit import system_actor

from .risk_scan import risk_scan_run
from .services.campaigns import campaign_run, campaigns_resume


@shared_task(name="closures.run_risk_scan")
def run_risk_scan() -> int:
    return risk_scan_run(actor=system_actor("risk-scan")).proposed


@shared_task(name="closures.campaign_run")
def campaign_run_task(campaign_id: int) -> int:
    return campaign_run(campaign_id=campaign_id).proposed_count


@shared_task(name="closures.campaigns_resume")
def campaigns_resume_task() -> int:
    return campaigns_resume()
