"""The risk scan: proposes `overdue` closures for every open account at or over the overdue
threshold that has no open closure. Set-based: per batch, ONE statement picks the accounts (a
keyset over the partial index account_overdue_open_idx), raises their overdue risk signals,
inserts the proposals, links the evidence, writes the case events and every history row. No
account row ever reaches Python, so memory does not grow with the accounts, and the number of
queries is 1 + the number of batches (one batch up to `batch_size` accounts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User

from .enums import OPEN_CLOSURE_STATUSES, ClosureEventKind, ClosureReason, ClosureStatus

DEFAULT_BATCH_SIZE = 20_000

# The open statuses are spelled out (the ON CONFLICT clause must repeat the partial unique
# index's predicate literally); this check keeps them in step with the enum.
_OPEN = "'awaiting_confirmation', 'pending_review', 'approved', 'closing'"
if ", ".join(f"'{s}'" for s in OPEN_CLOSURE_STATUSES) != _OPEN:  # pragma: no cover
    raise RuntimeError("closures.risk_scan: open statuses out of step with the enum")

_COUNT_SQL = """
SELECT count(*) FROM accounts_creditaccount a
WHERE a.overdue_count >= %(threshold)s AND a.overdue_count > 0
  AND a.status IN ('active', 'frozen')
  AND NOT EXISTS (SELECT 1 FROM closures_closurerequest c
                  WHERE c.account_id = a.id AND c.status IN ('awaiting_confirmation', 'pending_review', 'approved', 'closing'))
"""

_BATCH_SQL = """
WITH picked AS (
    SELECT a.id, a.overdue_count, a.status FROM accounts_creditaccount a
    WHERE a.overdue_count >= %(threshold)s AND a.overdue_count > 0
      AND a.status IN ('active', 'frozen') AND a.id > %(after)s
      AND NOT EXISTS (SELECT 1 FROM closures_closurerequest c
                      WHERE c.account_id = a.id AND c.status IN ('awaiting_confirmation', 'pending_review', 'approved', 'closing'))
    ORDER BY a.id
    LIMIT %(batch)s
),
sig AS (
    INSERT INTO accounts_risksignal
        (account_id, kind, severity, source, status, details, raised_by_id, created_at)
    SELECT p.id, 'overdue', 'high', 'system', 'open',
           jsonb_build_object('overdue_count', p.overdue_count, 'threshold', %(threshold)s,
                              'origin', 'risk_scan'),
           %(actor)s, %(now)s
    FROM picked p
    RETURNING id, account_id, kind, severity, source, status, details, raised_by_id, created_at
),
sig_history AS (
    INSERT INTO accounts_historicalrisksignal
        (id, kind, severity, source, status, details, created_at, history_date,
         history_change_reason, history_type, account_id, history_user_id, raised_by_id)
    SELECT s.id, s.kind, s.severity, s.source, s.status, s.details, s.created_at, %(now)s,
           %(why)s, '+', s.account_id, %(actor)s, s.raised_by_id
    FROM sig s
),
cl AS (
    INSERT INTO closures_closurerequest
        (account_id, reason, status, source, proposed_by_id, explanation, internal_note,
         evidence, froze_account, notice_days, created_at, reported_to_bureau, pre_status)
    SELECT p.id, %(reason)s, %(status)s, 'risk_scan', %(actor)s, %(explanation)s, '',
           jsonb_build_array(jsonb_build_object(
               'id', s.id, 'kind', s.kind, 'severity', s.severity, 'source', s.source,
               'status', s.status, 'details', s.details, 'created_at', s.created_at)),
           false, %(days)s, %(now)s, false, p.status
    FROM picked p JOIN sig s ON s.account_id = p.id
    ON CONFLICT (account_id) WHERE status IN ('awaiting_confirmation', 'pending_review', 'approved', 'closing') DO NOTHING
    RETURNING *
),
cl_history AS (
    INSERT INTO closures_historicalclosurerequest
        (id, reason, status, source, explanation, internal_note, evidence, froze_account,
         notice_days, created_at, confirmed_at, approved_at, effective_at, took_effect_at,
         closed_at, ended_at, notice_sent_at, appeal_deadline, reported_to_bureau, pre_status,
         pre_credit_limit, pre_available_credit, pre_outstanding_balance, pre_closed_at,
         history_date, history_change_reason, history_type, account_id, approved_by_id,
         decided_by_id, history_user_id, proposed_by_id)
    SELECT id, reason, status, source, explanation, internal_note, evidence, froze_account,
           notice_days, created_at, confirmed_at, approved_at, effective_at, took_effect_at,
           closed_at, ended_at, notice_sent_at, appeal_deadline, reported_to_bureau, pre_status,
           pre_credit_limit, pre_available_credit, pre_outstanding_balance, pre_closed_at,
           %(now)s, %(why)s, '+', account_id, approved_by_id, decided_by_id, %(actor)s,
           proposed_by_id
    FROM cl
),
links AS (
    INSERT INTO closures_closurerequest_risk_signals (closurerequest_id, risksignal_id)
    SELECT cl.id, s.id FROM cl JOIN sig s ON s.account_id = cl.account_id
),
ev AS (
    INSERT INTO closures_closureevent (closure_id, kind, actor_id, old_status, new_status, text, at)
    SELECT cl.id, %(event)s, %(actor)s, '', cl.status, %(why)s, %(now)s FROM cl
    RETURNING id, closure_id, kind, actor_id, old_status, new_status, text, at
),
ev_history AS (
    INSERT INTO closures_historicalclosureevent
        (id, kind, old_status, new_status, text, at, history_date, history_change_reason,
         history_type, actor_id, closure_id, history_user_id)
    SELECT id, kind, old_status, new_status, text, at, %(now)s, %(why)s, '+', actor_id,
           closure_id, %(actor)s
    FROM ev
)
SELECT (SELECT count(*) FROM picked), (SELECT max(id) FROM picked), (SELECT count(*) FROM cl)
"""


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
) -> RiskScanResult:
    """Propose `overdue` closures for review. `progress(done, total)` is called after each batch.
    Each batch commits on its own, so a long scan holds no lock for long and can be resumed."""
    now = now or timezone.now()
    threshold = threshold if threshold is not None else settings.OVERDUE_CLOSURE_THRESHOLD
    with translation.override(settings.LANGUAGE_CODE):
        explanation = _(
            "Payments on this account have been overdue several times. Under our risk rules an "
            "account with repeated overdue payments is closed. The amount you owe stays payable "
            "on its usual schedule."
        )
    params = {
        "threshold": max(threshold, 1),
        "actor": actor.pk,
        "now": now,
        "why": "risk scan: overdue count at or over the threshold",
        "reason": ClosureReason.OVERDUE.value,
        "status": ClosureStatus.PENDING_REVIEW.value,
        "explanation": explanation,
        "days": settings.CLOSURE_NOTICE_DAYS.get(ClosureReason.OVERDUE, 7),
        "event": ClosureEventKind.PROPOSED.value,
        "batch": batch_size,
    }
    result = RiskScanResult()
    if connection.vendor != "postgresql":
        return _risk_scan_through_services(
            actor=actor, threshold=params["threshold"], explanation=explanation, result=result
        )
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SQL, params)
        result.candidates = cursor.fetchone()[0]
    after = 0
    done = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_BATCH_SQL, {**params, "after": after})
            picked, last_id, proposed = cursor.fetchone()
        result.batches += 1
        result.proposed += proposed
        done += picked
        if progress is not None:
            progress(done, max(result.candidates, done))
        if picked < batch_size or last_id is None:
            break
        after = last_id
    if result.proposed:
        from .anomaly import alerts_daily_check

        alerts_daily_check(actor=actor, now=now)
    return result


def _risk_scan_through_services(
    *, actor: User, threshold: int, explanation: str, result: RiskScanResult
) -> RiskScanResult:
    """The same proposals through the services, one account at a time: only for the embedded
    SQLite database of `make run` (demo sizes), where the PostgreSQL statement cannot run."""
    from accounts.enums import AccountStatus, RiskSignalKind, RiskSignalSource, Severity
    from accounts.models import CreditAccount
    from accounts.services import risk_signal_raise

    from .models import ClosureRequest
    from .services import closure_propose

    open_closures = ClosureRequest.objects.filter(status__in=OPEN_CLOSURE_STATUSES)
    candidates = (
        CreditAccount.objects.filter(
            overdue_count__gte=threshold,
            status__in=[AccountStatus.ACTIVE, AccountStatus.FROZEN],
        )
        .exclude(pk__in=open_closures.values("account_id"))
        .values_list("pk", "overdue_count")
    )
    why = "risk scan: overdue count at or over the threshold"
    for account_id, overdue_count in candidates.iterator():
        result.candidates += 1
        with transaction.atomic():
            signal = risk_signal_raise(
                actor=actor,
                reason=why,
                account_id=account_id,
                kind=RiskSignalKind.OVERDUE,
                severity=Severity.HIGH,
                source=RiskSignalSource.SYSTEM,
                details={"overdue_count": overdue_count, "threshold": threshold},
            )
            closure_propose(
                actor=actor,
                reason=why,
                account_id=account_id,
                closure_reason=ClosureReason.OVERDUE,
                explanation=explanation,
                source="risk_scan",
                risk_signal_ids=[signal.pk],
                _checked=True,
            )
        result.proposed += 1
    result.batches = 1
    return result
