"""A campaign's run has two paths that write the same rows: the set-based statement
(PostgreSQL) and the ORM, one account at a time (SQLite, `make run`; forced here with
`method="orm"`). Both run on the same accounts, the first undone before the second; compared row
by row: closures, their evidence, the links to the segment's risk signals, case events, every
history row of those, the notices, the campaign's summary alert. Ids and times are left out (the
sequences and the clock move on between the runs), everything else must be equal. The run on a
real SQLite file is tests/sqlite/test_campaign_on_sqlite.py."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import models, transaction
from django.utils import timezone

from accounts.delinquency import delinquency_refresh_accounts
from accounts.enums import AccountStatus, Language, LoanKind, RiskSignalKind, Severity
from accounts.models import CreditAccount, Installment, RiskSignal
from accounts.services import risk_signal_raise
from closures import services
from closures.enums import ClosureEventKind, ClosureStatus
from closures.models import ClosureAlert, ClosureCampaign, ClosureEvent, ClosureRequest
from closures.services import campaigns
from core.models import ActivityEntry
from notices.models import Notice
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory
from tests.factories.closures import staff

pytestmark = pytest.mark.django_db

BASE_MODELS = [
    ClosureRequest,
    ClosureRequest.risk_signals.through,
    ClosureEvent,
    Notice,
    ClosureAlert,
]
MODELS = [*BASE_MODELS, *(m.history.model for m in BASE_MODELS if hasattr(m, "history"))]
_SKIPPED = {"id", "history_id", "object_id", "idempotency_key"}


class _Undo(Exception):
    pass


def _signalled(system_user, *, language=Language.ZH_HANS, **kwargs) -> CreditAccount:
    account = CreditAccountFactory(customer=CustomerFactory(preferred_language=language), **kwargs)
    risk_signal_raise(
        actor=system_user, reason="t", account_id=account.pk, kind=RiskSignalKind.POLICY,
        severity=Severity.HIGH,
    )  # fmt: skip
    return account


def _accounts(system_user) -> list[CreditAccount]:
    """Matching: Chinese, English, frozen, one with overdue figures; not matching: no signal,
    and one with a closure in progress."""
    overdue = _signalled(system_user)
    loan = LoanRecordFactory(account=overdue, amount=Decimal("30.00"), kind=LoanKind.INSTALLMENT)
    for k in (1, 2):
        Installment.objects.create(
            loan=loan, account=overdue, number=k, amount=Decimal("15.00"),
            due_on=timezone.localdate() - timedelta(days=20 * k),
        )  # fmt: skip
    delinquency_refresh_accounts(account_ids=[overdue.pk])
    matching = [
        _signalled(system_user),
        _signalled(system_user, language=Language.EN),
        _signalled(system_user, status=AccountStatus.FROZEN),
        overdue,
    ]
    CreditAccountFactory()
    busy = _signalled(system_user)
    services.closure_propose(
        actor=staff("agent"), reason="t", account_id=busy.pk, closure_reason="overdue",
        explanation="逾期",
    )  # fmt: skip
    return matching


def _approved(manager, reviewer) -> ClosureCampaign:
    campaign = services.campaign_create(
        actor=manager,
        reason="policy",
        title="高风险账户清理",
        closure_reason="policy_high_risk",
        segment={"risk_signal_kind": "policy"},
        explanation_zh="因风险政策，我们将关闭该账户。",
        explanation_en="Under our risk policy this account will be closed.",
    )
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    return services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="checked")


def _keys() -> dict[type[models.Model], dict[int, Any]]:
    number = dict(CreditAccount.objects.values_list("pk", "number"))
    closures = ClosureRequest.objects.values_list("pk", "account_id")
    signals = RiskSignal.objects.values_list("pk", "account_id")
    return {
        CreditAccount: number,
        ClosureRequest: {pk: ("closure of", number[a]) for pk, a in closures},
        RiskSignal: {pk: ("signal of", number[a]) for pk, a in signals},
    }


def _evidence(value: list[dict]) -> list[dict]:
    times = ("approved_at", "opened_at", "as_of")
    out = []
    for item in value:
        item = {**item, "approved_at": "<time>"}
        item["figures"] = {
            k: "<time>" if k in times else v for k, v in item.get("figures", {}).items()
        }
        out.append(item)
    return out


def _value(field: models.Field, value: Any, keys: dict) -> Any:
    if isinstance(value, datetime):
        return "<time>"
    target = field.related_model if field.is_relation else None
    if target in keys and value is not None:
        return keys[target][value]
    if field.name == "evidence":
        return _evidence(value)
    if field.name == "body":
        value = re.sub(r"/closurealert/\d+/", "/closurealert/<id>/", value)
        return re.sub(r"closure=\d+", "closure=<id>", value)
    return value


def _rows(before: dict) -> dict[str, list[str]]:
    keys = _keys()
    rows = {}
    for model in MODELS:
        fields = [f for f in model._meta.concrete_fields if f.attname not in _SKIPPED]
        new = model._default_manager.filter(pk__gt=before[model]).values_list(
            *(f.attname for f in fields)
        )
        rows[model._meta.label] = sorted(
            json.dumps(
                {f.attname: _value(f, v, keys) for f, v in zip(fields, row, strict=True)},
                sort_keys=True,
                default=str,
                ensure_ascii=False,
            )
            for row in new
        )
    trail = ActivityEntry.objects.filter(pk__gt=before[ActivityEntry])
    rows["trail"] = sorted(
        json.dumps([a, t, u, r], ensure_ascii=False)
        for a, t, u, r in trail.values_list("action", "object_type", "actor_username", "reason")
    )
    return rows


def _run_rows(campaign_id: int, *, method: str) -> dict[str, list[str]]:
    """The rows one run writes (two batches); the run is then undone."""
    tracked = [*MODELS, ActivityEntry]
    before = {m: m._default_manager.aggregate(m=models.Max("pk"))["m"] or 0 for m in tracked}
    try:
        with transaction.atomic():
            campaign = campaigns.campaign_run(campaign_id=campaign_id, batch_size=3, method=method)
            assert (campaign.status, campaign.batches, campaign.proposed_count) == ("done", 2, 4)
            assert campaign.notified_count == 4
            rows = _rows(before)
            raise _Undo
    except _Undo:
        pass
    return rows


def test_the_statement_and_the_orm_write_the_same_rows(system_user):
    manager, reviewer = staff("manager"), staff("reviewer")
    _accounts(system_user)
    campaign = _approved(manager, reviewer)
    by_statement = _run_rows(campaign.pk, method="sql")
    by_orm = _run_rows(campaign.pk, method="orm")
    counts = {label: len(rows) for label, rows in by_statement.items()}
    assert counts["closures.ClosureRequest"] == counts["closures.HistoricalClosureRequest"] == 4
    assert counts["closures.ClosureRequest_risk_signals"] == 4
    assert counts["closures.ClosureEvent"] == counts["closures.HistoricalClosureEvent"] == 12
    assert counts["closures.ClosureAlert"] == 1 and counts["notices.Notice"] >= 8
    for label in by_statement:
        assert by_statement[label] == by_orm[label], label


def test_the_orm_path_writes_the_closures_events_and_figures(system_user):
    manager, reviewer = staff("manager"), staff("reviewer")
    zh, en, frozen, overdue = _accounts(system_user)
    campaign = _approved(manager, reviewer)
    campaign = campaigns.campaign_run(campaign_id=campaign.pk, batch_size=2, method="orm")
    last = max(a.pk for a in (zh, en, frozen, overdue))
    assert (campaign.status, campaign.proposed_count, campaign.cursor) == ("done", 4, last)
    assert campaign.batches == 3
    closures = {c.account_id: c for c in ClosureRequest.objects.filter(campaign=campaign)}
    assert set(closures) == {zh.pk, en.pk, frozen.pk, overdue.pk}
    assert closures[en.pk].explanation.startswith("Under our risk policy")
    assert closures[zh.pk].explanation.startswith("因风险政策")
    assert closures[frozen.pk].pre_status == "frozen"
    figures = closures[overdue.pk].evidence[0]["figures"]
    assert figures["overdue_count"] == 2 and figures["amount_past_due"] == 30.0
    closure = closures[zh.pk]
    assert closure.status == ClosureStatus.APPROVED and closure.approved_by == reviewer
    assert list(closure.events.order_by("at", "pk").values_list("kind", "actor_id")) == [
        (ClosureEventKind.PROPOSED, manager.pk),
        (ClosureEventKind.APPROVED, reviewer.pk),
        (ClosureEventKind.NOTICE_SENT, reviewer.pk),
    ]
    assert closure.history.get().history_change_reason.startswith(
        f"closure campaign #{campaign.pk} approved"
    )
    assert closure.risk_signals.count() == 1
    again = campaigns.campaign_run_batch(campaign_id=campaign.pk, method="orm")
    assert again.proposed == 0 and again.finished
