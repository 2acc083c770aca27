"""The risk scan: proposes `overdue` closures for every open account at or over the overdue
threshold that has no open closure - the rows `closure_propose` would write for a system actor,
written set-based. The overdue count it reads is only the computed one (accounts'
AccountDelinquency, derived from the repayment schedules by accounts/delinquency.py, where
disputed, reversed and paused loans never count): a fraud victim is never closed for `overdue`.

On PostgreSQL, per batch, ONE statement picks the accounts (a keyset over the partial index
delinquency_overdue_idx), raises their overdue risk signals, inserts the proposals, links the
evidence and writes the case events, each with its history row; then one query runs the
per-proposal anomaly rules over the batch (`alerts_on_proposals`, the rules `alerts_on_proposal`
applies to a single proposal). No account row reaches Python, so memory does not grow with the
accounts, and the queries are a constant per batch. After the scan, the daily-spike check.

The statement is built from the models' `_meta`: every history column, and every column of the
inserted rows the scan does not set itself (which takes the field's constant default), so a
field added to a model is written by the scan too, or the scan refuses to start. A test holds the
two paths (this statement and the services, `method="services"`) to the same rows.

On other databases (the embedded SQLite of `make run`), the same proposals go through the
services one account at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models, transaction
from django.utils import timezone, translation

from accounts.enums import (
    AccountStatus,
    RiskSignalKind,
    RiskSignalSource,
    RiskSignalStatus,
    Severity,
)
from accounts.models import AccountDelinquency, RiskSignal, User
from accounts.services import risk_signal_raise
from core.activity import activity_insert_sql

from .anomaly import alerts_daily_check, alerts_on_proposals
from .enums import (
    OPEN_CLOSURE_STATUSES,
    ClosureEventKind,
    ClosureReason,
    ClosureSource,
    ClosureStatus,
)
from .models import ClosureEvent, ClosureRequest
from .services.common import permission_require
from .services.proposals import closure_propose, signal_explanation

DEFAULT_BATCH_SIZE = 20_000
WHY = "risk scan: overdue count at or over the threshold"
_CLOSABLE = (AccountStatus.ACTIVE, AccountStatus.FROZEN)


def _literal(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


# The open statuses are written out: the ON CONFLICT clause must repeat the partial unique
# index's predicate literally (its condition is the same enum list, closures/models.py).
_OPEN = _literal(OPEN_CLOSURE_STATUSES)

# Every SQL text here is built from model metadata and enum constants, never from input
# (hence the S608 exemptions); values go in as query parameters.
_CANDIDATES = f"""
    FROM accounts_accountdelinquency d JOIN accounts_creditaccount a ON a.id = d.account_id
    WHERE d.overdue_count >= %(threshold)s AND d.overdue_count > 0
      AND a.status IN ({_literal(_CLOSABLE)})
      AND NOT EXISTS (SELECT 1 FROM closures_closurerequest c
                      WHERE c.account_id = a.id AND c.status IN ({_OPEN}))
"""  # noqa: S608

_COUNT_SQL = f"SELECT count(*) {_CANDIDATES}"

# Written by the scan itself in every history row (simple-history's own columns).
_HISTORY_VALUES = {
    "history_date": "%(now)s",
    "history_change_reason": "%(why)s",
    "history_type": "'+'",
    "history_user_id": "%(actor)s",
}


def _sql_constant(field: models.Field) -> str:
    """A column the scan does not set: the field's default, which must be a constant."""
    if field.has_default() and callable(field.default):
        raise ImproperlyConfigured(
            f"closures.risk_scan: {field.model.__name__}.{field.name} has a computed default;"
            " the scan must set it"
        )
    value = field.get_default()
    if value is None and field.null:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    raise ImproperlyConfigured(f"closures.risk_scan: no SQL constant for {field}'s default")


def _insert(model: type[models.Model], values: dict[str, str], *, source: str) -> str:
    """INSERT ... SELECT of every concrete column but the pk: `values` (column -> SQL
    expression) for the ones the scan sets, the field's constant default for the others."""
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    unknown = set(values) - {f.column for f in fields}
    if unknown:
        raise ImproperlyConfigured(f"closures.risk_scan: no columns {unknown} on {model}")
    columns = ", ".join(quote(f.column) for f in fields)
    exprs = ", ".join(values.get(f.column) or _sql_constant(f) for f in fields)
    table = quote(model._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT {exprs} FROM {source}"  # noqa: S608


def _history_insert(model: type[models.Model], *, source: str) -> str:
    """The history rows ('+', created) of the rows `source` returned, column for column."""
    history = model.history.model
    tracked = {f.column for f in model._meta.concrete_fields}
    values = {}
    for field in history._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.column in _HISTORY_VALUES:
            values[field.column] = _HISTORY_VALUES[field.column]
        elif field.column in tracked:
            values[field.column] = f"{source}.{connection.ops.quote_name(field.column)}"
        else:
            raise ImproperlyConfigured(f"closures.risk_scan: history column {field.column}?")
    return _insert(history, values, source=source)


# What the scan writes in the columns it sets (SQL expressions over the CTEs of _batch_sql);
# every other column takes its field's default. These are the values closure_propose and
# risk_signal_raise write for a system actor (the paths test holds them to it).
_SIGNAL_VALUES = {
    "account_id": "p.id",
    "kind": f"'{RiskSignalKind.OVERDUE}'",
    "severity": f"'{Severity.HIGH}'",
    "source": f"'{RiskSignalSource.SYSTEM}'",
    "status": f"'{RiskSignalStatus.OPEN}'",
    "details": "jsonb_build_object('overdue_count', p.overdue_count, "
    "'threshold', %(threshold)s, 'origin', 'risk_scan')",
    "raised_by_id": "%(actor)s",
    "created_at": "%(now)s",
}
_CLOSURE_VALUES = {
    "account_id": "p.id",
    "reason": f"'{ClosureReason.OVERDUE}'",
    "status": f"'{ClosureStatus.PENDING_REVIEW}'",
    "source": f"'{ClosureSource.RISK_SCAN}'",
    "proposed_by_id": "%(actor)s",
    "explanation": "%(explanation)s",
    # The snapshot closure_propose takes (proposals._evidence), from the signal's row.
    "evidence": "jsonb_build_array(jsonb_build_object('id', s.id, 'kind', s.kind, "
    "'severity', s.severity, 'source', s.source, 'status', s.status, "
    "'details', s.details, 'created_at', s.created_at))",
    "notice_days": "%(days)s",
    "created_at": "%(now)s",
    "pre_status": "p.status",
}
_LINK_VALUES = {"closurerequest_id": "cl.id", "risksignal_id": "s.id"}
# events.closure_proposed_event
_EVENT_VALUES = {
    "closure_id": "cl.id",
    "kind": f"'{ClosureEventKind.PROPOSED}'",
    "actor_id": "%(actor)s",
    "new_status": "cl.status",
    "reason": "%(why)s",
    "at": "%(now)s",
}


def _trail(source: str, object_type: str) -> str:
    """The activity-trail rows of what `source` inserted (core.activity, set-based)."""
    return activity_insert_sql(
        source=source,
        object_type=object_type,
        actor="%(actor)s",
        actor_name="%(actor_name)s",
        at="%(now)s",
        reason="%(why)s",
    )


@cache
def _batch_sql() -> str:
    """One batch: pick, raise the signals, propose, link, write the events; every history row."""
    signals = _insert(RiskSignal, _SIGNAL_VALUES, source="picked p")
    closures = _insert(
        ClosureRequest, _CLOSURE_VALUES, source="picked p JOIN sig s ON s.account_id = p.id"
    )
    links = _insert(
        ClosureRequest.risk_signals.through,
        _LINK_VALUES,
        source="cl JOIN sig s ON s.account_id = cl.account_id",
    )
    events = _insert(ClosureEvent, _EVENT_VALUES, source="cl")
    return f"""
WITH picked AS (
    SELECT a.id, d.overdue_count, a.status {_CANDIDATES} AND d.account_id > %(after)s
    ORDER BY d.account_id LIMIT %(batch)s
),
sig AS ({signals} RETURNING *),
sig_history AS ({_history_insert(RiskSignal, source="sig")}),
cl AS (
    {closures}
    ON CONFLICT (account_id) WHERE status IN ({_OPEN}) DO NOTHING
    RETURNING *
),
cl_history AS ({_history_insert(ClosureRequest, source="cl")}),
links AS ({links}),
ev AS ({events} RETURNING *),
ev_history AS ({_history_insert(ClosureEvent, source="ev")}),
sig_trail AS ({_trail("sig", "accounts.risksignal")}),
cl_trail AS ({_trail("cl", "closures.closurerequest")}),
ev_trail AS ({_trail("ev", "closures.closureevent")})
SELECT (SELECT count(*) FROM picked), (SELECT max(id) FROM picked),
       (SELECT count(*) FROM cl), (SELECT min(id) FROM cl), (SELECT max(id) FROM cl)
"""  # noqa: S608


@dataclass
class RiskScanResult:
    candidates: int = 0
    proposed: int = 0
    batches: int = 0


def risk_scan_run(
    *,
    actor: User,
    now: datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    threshold: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    method: Literal["sql", "services"] | None = None,
) -> RiskScanResult:
    """Propose `overdue` closures for review, as `actor` (a system actor, or staff who may
    propose). `progress(done, total)` is called after each batch. Each batch commits on its own,
    so a long scan holds no lock for long and can be resumed. `method` defaults to the
    statement on PostgreSQL and to the services elsewhere."""
    permission_require(actor, "closures.propose_closure")
    now = now or timezone.now()
    threshold = max(threshold if threshold is not None else settings.OVERDUE_CLOSURE_THRESHOLD, 1)
    with translation.override(settings.LANGUAGE_CODE):
        explanation = signal_explanation(ClosureReason.OVERDUE)
    method = method or ("sql" if connection.vendor == "postgresql" else "services")
    scan = _scan_set_based if method == "sql" else _scan_through_services
    result = scan(
        actor=actor,
        now=now,
        threshold=threshold,
        explanation=explanation,
        batch_size=batch_size,
        progress=progress,
    )
    if result.proposed:
        with transaction.atomic():
            alerts_daily_check(actor=actor, now=now)
    return result


def _scan_set_based(
    *, actor: User, now: datetime, threshold: int, explanation: str, batch_size: int, progress
) -> RiskScanResult:
    params: dict[str, Any] = {
        "threshold": threshold,
        "actor": actor.pk,
        "actor_name": actor.username,
        "now": now,
        "why": WHY,
        "explanation": explanation,
        "days": settings.CLOSURE_NOTICE_DAYS.get(ClosureReason.OVERDUE, 0),
        "batch": batch_size,
    }
    result = RiskScanResult()
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, params)
        result.candidates = cursor.fetchone()[0]
    after = 0
    done = 0
    while True:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(_batch_sql(), {**params, "after": after})
                picked, last_id, proposed, first_closure, last_closure = cursor.fetchone()
            if proposed:
                batch = ClosureRequest.objects.filter(
                    pk__range=(first_closure, last_closure),
                    source=ClosureSource.RISK_SCAN,
                    proposed_by=actor,
                    created_at=now,
                )
                alerts_on_proposals(closures=batch, actor=actor)
        result.batches += 1
        result.proposed += proposed
        done += picked
        if progress is not None:
            progress(done, max(result.candidates, done))
        if picked < batch_size or last_id is None:
            return result
        after = last_id


def _scan_through_services(
    *, actor: User, now: datetime, threshold: int, explanation: str, batch_size: int, progress
) -> RiskScanResult:
    """The same proposals through the services, one account at a time, each in its own
    transaction: for databases where the statement cannot run (SQLite, demo sizes). The rows'
    times are the services' own (`now` is only the daily check's)."""
    open_closures = ClosureRequest.objects.filter(status__in=OPEN_CLOSURE_STATUSES)
    candidates = (
        AccountDelinquency.objects.filter(
            overdue_count__gte=threshold, account__status__in=_CLOSABLE
        )
        .exclude(account_id__in=open_closures.values("account_id"))
        .order_by("account_id")
        .values_list("account_id", "overdue_count")
    )
    result = RiskScanResult(candidates=candidates.count(), batches=1)
    for account_id, overdue_count in candidates.iterator():
        with transaction.atomic():
            signal = risk_signal_raise(
                actor=actor,
                reason=WHY,
                account_id=account_id,
                kind=RiskSignalKind.OVERDUE,
                severity=Severity.HIGH,
                source=RiskSignalSource.SYSTEM,
                details={"overdue_count": overdue_count, "threshold": threshold,
                         "origin": "risk_scan"},
            )  # fmt: skip
            closure_propose(
                actor=actor,
                reason=WHY,
                account_id=account_id,
                closure_reason=ClosureReason.OVERDUE,
                explanation=explanation,
                source=ClosureSource.RISK_SCAN,
                risk_signal_ids=[signal.pk],
            )
        result.proposed += 1
        if progress is not None:
            progress(result.proposed, result.candidates)
    return result
