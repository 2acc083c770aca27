"""The risk scan's two paths write the same rows: the set-based statement (PostgreSQL) and the
services, one account at a time (the fallback for SQLite), run on the same accounts. Compared
row by row: risk signals, proposals, their evidence links, case events, every history row of
those, the managers' notices and the alerts; ids and times are left out (the sequences and the
clock move on between the runs), everything else must be equal."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import models, transaction
from django.utils import timezone, translation

from accounts.delinquency import delinquency_refresh_accounts
from accounts.enums import AccountStatus, LoanKind
from accounts.models import CreditAccount, Installment, RiskSignal
from accounts.services import risk_signals_overrule
from closures import services
from closures.anomaly import alerts_on_proposal, alerts_on_proposals
from closures.enums import AlertRule, ClosureReason, ClosureSource, ClosureStatus
from closures.models import ClosureAlert, ClosureEvent, ClosureRequest
from closures.risk_scan import risk_scan_run
from closures.services.proposals import signal_explanation
from core.errors import ApplicationError
from notices.models import Notice
from tests.factories import CreditAccountFactory, LoanRecordFactory
from tests.factories.closures import proposed, staff

pytestmark = pytest.mark.django_db

BASE_MODELS = [
    RiskSignal,
    ClosureRequest,
    ClosureRequest.risk_signals.through,
    ClosureEvent,
    Notice,
    ClosureAlert,
]
MODELS = [
    *BASE_MODELS,
    *(m.history.model for m in BASE_MODELS if hasattr(m, "history")),
]


class _Undo(Exception):
    pass


def _overdue_account(installments: int, **kwargs) -> CreditAccount:
    """An account with one loan whose `installments` installments are unpaid past due, and its
    overdue figures computed from them."""
    account = CreditAccountFactory(**kwargs)
    loan = LoanRecordFactory(
        account=account, amount=Decimal("10.00") * installments, kind=LoanKind.INSTALLMENT
    )
    today = timezone.localdate()
    for k in range(1, installments + 1):
        Installment.objects.create(
            loan=loan, account=account, number=k, due_on=today - timedelta(days=20 * k),
            amount=Decimal("10.00"),
        )  # fmt: skip
    delinquency_refresh_accounts(account_ids=[account.pk])
    return account


def _scan_accounts(system_user) -> list[CreditAccount]:
    """Over the threshold (active, frozen, far over), at it, under it, closed, and one with an
    open closure already: the scan proposes for the first four only."""
    accounts = [
        _overdue_account(4),
        _overdue_account(5, status=AccountStatus.FROZEN),
        _overdue_account(30),
        _overdue_account(3),
        _overdue_account(2),
        _overdue_account(9, status=AccountStatus.CLOSED, closed_at=timezone.now()),
        _overdue_account(6),
    ]
    services.closure_request_by_customer(
        actor=accounts[-1].customer.user, account_id=accounts[-1].pk
    )
    return accounts


def _keys() -> dict[type[models.Model], dict[int, Any]]:
    """What a row's foreign key is compared as: the account's number, not a sequence value."""
    number = dict(CreditAccount.objects.values_list("pk", "number"))
    closures = ClosureRequest.objects.values_list("pk", "account_id")
    signals = RiskSignal.objects.values_list("pk", "account_id")
    return {
        CreditAccount: number,
        ClosureRequest: {pk: ("closure of", number[a]) for pk, a in closures},
        RiskSignal: {pk: ("signal of", number[a]) for pk, a in signals},
    }


def _value(field: models.Field, value: Any, keys: dict) -> Any:
    if isinstance(value, datetime):
        return "<time>"
    target = field.related_model if field.is_relation else None
    if target in keys and value is not None:
        return keys[target][value]
    if field.name == "evidence":
        return [
            {**item, "id": keys[RiskSignal][item["id"]], "created_at": "<time>"} for item in value
        ]
    if field.name == "body":
        return re.sub(r"/closurealert/\d+/", "/closurealert/<id>/", value)
    return value


# Sequence values and what is derived from them (an alert's pk in a notice's object id and key).
_SKIPPED = {"id", "history_id", "object_id", "idempotency_key"}


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
    return rows


def _scan_rows(*, actor, method: str) -> dict[str, list[str]]:
    """The rows one scan writes; the scan is then undone, so the next one starts the same."""
    before = {m: m._default_manager.aggregate(m=models.Max("pk"))["m"] or 0 for m in MODELS}
    try:
        with transaction.atomic():
            result = risk_scan_run(actor=actor, method=method)
            assert result.candidates == result.proposed == 4
            rows = _rows(before)
            raise _Undo
    except _Undo:
        pass
    return rows


def test_the_statement_and_the_services_write_the_same_rows(system_user, settings):
    settings.CLOSURE_ALERT_DAILY_MIN = 3  # four proposals today against a quiet week: an alert
    staff("manager")  # the alert's e-mail goes to the managers
    _scan_accounts(system_user)
    by_statement = _scan_rows(actor=system_user, method="sql")
    by_services = _scan_rows(actor=system_user, method="services")
    counts = {label: len(rows) for label, rows in by_statement.items()}
    assert counts["accounts.RiskSignal"] == counts["closures.ClosureRequest"] == 4
    assert counts["closures.ClosureEvent"] == counts["closures.HistoricalClosureEvent"] == 4
    assert counts["closures.ClosureAlert"] == 1 and counts["notices.Notice"] >= 1
    for label in by_statement:
        assert by_statement[label] == by_services[label], label


def test_the_services_path_proposes_with_history_and_events(system_user):
    accounts = _scan_accounts(system_user)
    result = risk_scan_run(actor=system_user, method="services")
    assert (result.candidates, result.proposed, result.batches) == (4, 4, 1)
    closures = ClosureRequest.objects.filter(source=ClosureSource.RISK_SCAN)
    assert {c.account_id for c in closures} == {a.pk for a in accounts[:4]}
    closure = closures.get(account=accounts[1])
    assert closure.status == ClosureStatus.PENDING_REVIEW and closure.pre_status == "frozen"
    assert closure.risk_signals.get().details == {
        "overdue_count": 5,
        "threshold": 3,
        "origin": "risk_scan",
    }
    history = closure.history.get()
    assert history.history_user_id == system_user.pk
    assert history.history_change_reason == "risk scan: overdue count at or over the threshold"
    assert list(closure.events.values_list("kind", "new_status")) == [
        ("proposed", "pending_review")
    ]
    assert risk_scan_run(actor=system_user, method="services").proposed == 0


def test_the_scan_needs_an_actor_who_may_propose(system_user):
    _scan_accounts(system_user)
    with pytest.raises(ApplicationError) as exc:
        risk_scan_run(actor=staff("auditor"), method="sql")
    assert exc.value.code == "permission_denied"
    assert not ClosureRequest.objects.filter(source=ClosureSource.RISK_SCAN).exists()


def test_the_rules_over_a_set_are_the_rules_of_one_proposal(system_user, settings):
    """alerts_on_proposals (the scan's, per batch) raises what alerts_on_proposal would."""

    settings.CLOSURE_ALERT_PER_STAFF_PER_HOUR = 100
    agent = staff("agent")
    closures = [proposed(account=CreditAccountFactory(), proposer=agent) for _ in range(3)]
    assert not ClosureAlert.objects.exists()
    settings.CLOSURE_ALERT_PER_STAFF_PER_HOUR = 2
    with transaction.atomic():
        risk_signals_overrule(
            signal_ids=list(closures[0].risk_signals.values_list("pk", flat=True)),
            actor=system_user,
            reason="test",
        )
    batch = ClosureRequest.objects.filter(pk__in=[c.pk for c in closures])
    raised = alerts_on_proposals(closures=batch, actor=system_user)
    assert {(a.rule, a.closure_id, a.staff_id) for a in raised} == {
        (AlertRule.NO_RISK_SIGNAL, closures[0].pk, agent.pk),
        (AlertRule.STAFF_BURST, None, agent.pk),
    }
    # The single-proposal rules find the same alerts already raised (each is raised once).
    for closure in closures:
        assert alerts_on_proposal(closure=closure, actor=system_user) == []
    assert ClosureAlert.objects.count() == 2
    assert alerts_on_proposals(closures=batch, actor=system_user) == []


def test_a_scan_proposal_explains_itself_in_the_platform_language(system_user, settings):
    _scan_accounts(system_user)
    risk_scan_run(actor=system_user, method="sql")
    closure = ClosureRequest.objects.filter(source=ClosureSource.RISK_SCAN).first()
    assert closure.reason == ClosureReason.OVERDUE
    with translation.override("en"):
        english = signal_explanation(ClosureReason.OVERDUE)
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert closure.explanation != english and "逾期" in closure.explanation
