"""Abnormal-closure alerts: a manager acknowledges one. (The rules that raise them are in
closures/anomaly.py, run on every proposal and by the risk scan and the daily sweep.)"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from core.audit import save_with_history

from .. import locks
from .common import permission_require


@transaction.atomic
def closure_alert_acknowledge(*, actor: User, alert_id: int, reason: str = "") -> None:
    permission_require(actor, "closures.change_closurealert")
    alert = locks.alert_for_update(alert_id=alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        save_with_history(
            alert,
            actor=actor,
            reason=reason or "acknowledged",
            update_fields=["acknowledged_by", "acknowledged_at"],
        )
