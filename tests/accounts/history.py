"""Test helpers: count the history rows a service writes, and check the last one's user and
reason."""

from __future__ import annotations

from accounts.models import (
    AuthorizationEvent,
    CreditAccount,
    CreditReportCorrection,
    Customer,
    LoanRecord,
    Repayment,
    RiskSignal,
    User,
)

MODELS = (
    User,
    Customer,
    CreditAccount,
    LoanRecord,
    AuthorizationEvent,
    Repayment,
    RiskSignal,
    CreditReportCorrection,
)


def _counts() -> dict[str, int]:
    return {m.__name__: m.history.count() for m in MODELS}


class HistoryProbe:
    """`new_rows()`: the history rows written since the probe was made, by model name."""

    def __init__(self) -> None:
        self.before = _counts()

    def new_rows(self) -> dict[str, int]:
        after = _counts()
        return {k: after[k] - self.before[k] for k in after if after[k] != self.before[k]}


def assert_last_history(model, pk: int, actor: User, reason: str) -> None:
    row = model.history.filter(id=pk).latest("history_id")
    assert row.history_user_id == actor.pk
    assert row.history_change_reason == reason
