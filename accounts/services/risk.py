"""Risk signals: raised by the risk engine, officers, agents or the system; overruled when a
decision resting on them is reversed (an upheld appeal)."""

from __future__ import annotations

from django.db import transaction

from core.audit import save_with_history

from .. import locks
from ..enums import RiskSignalSource, RiskSignalStatus
from ..models import RiskSignal, User


@transaction.atomic
def risk_signal_raise(
    *,
    actor: User,
    reason: str,
    account_id: int,
    kind: str,
    severity: str,
    source: str = RiskSignalSource.SYSTEM,
    details: dict | None = None,
) -> RiskSignal:
    account = locks.account_for_update(account_id=account_id)
    signal = RiskSignal(
        account=account,
        kind=kind,
        severity=severity,
        source=source,
        details=details or {},
        raised_by=actor,
    )
    save_with_history(signal, actor=actor, reason=reason)
    return signal


def risk_signals_overrule(*, signal_ids: list[int], actor: User, reason: str) -> int:
    """Mark these signals overruled (each one not overruled already), locking them in pk order
    inside the caller's transaction, after the account's lock. Returns how many changed."""
    changed = 0
    for signal in locks.risk_signals_for_update(signal_ids=signal_ids):
        if signal.status == RiskSignalStatus.OVERRULED:
            continue
        signal.status = RiskSignalStatus.OVERRULED
        save_with_history(signal, actor=actor, reason=reason, update_fields=["status"])
        changed += 1
    return changed
