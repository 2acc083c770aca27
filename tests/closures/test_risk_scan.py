"""The risk scan: set-based, a query count that does not grow with the accounts; it reads the
overdue figures computed from the repayment schedules (accounts/delinquency.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.delinquency import delinquency_refresh
from accounts.models import RiskSignal
from closures.enums import ClosureReason, ClosureStatus
from closures.models import ClosureEvent, ClosureRequest
from closures.risk_scan import risk_scan_run

pytestmark = pytest.mark.django_db


def _bulk_accounts(n: int, *, overdue: int = 4, start: int = 0) -> None:
    """n accounts created with raw set-based SQL, each with one installment loan whose
    installments are unpaid past due: `overdue` of them on even ids (over the threshold), one on
    odd ids; then the overdue figures are refreshed from those schedules."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH u AS (
                INSERT INTO accounts_user (password, is_superuser, username, first_name,
                    last_name, email, is_staff, is_active, date_joined, security_stamp)
                SELECT '!', false, 'bulk' || (g + %(start)s), '', '', '', false, true, now(), 'x'
                FROM generate_series(1, %(n)s) g
                RETURNING id, username
            ), c AS (
                INSERT INTO accounts_customer (user_id, name, national_id, national_id_index,
                    phone, phone_index, preferred_language, created_at)
                SELECT id, username, 'x', username, 'x', username, 'zh-hans', now() FROM u
                RETURNING id
            ), a AS (
                INSERT INTO accounts_creditaccount (number, customer_id, status, credit_limit,
                    outstanding_balance, available_credit, interest_free_days, overdue_count,
                    opened_at)
                SELECT '77' || lpad(id::text, 14, '0'), id, 'active', 1000, 100, 900, 30, 0,
                       now() - interval '400 days'
                FROM c
                RETURNING id
            ), l AS (
                INSERT INTO accounts_loanrecord (reference, account_id, amount, outstanding_amount,
                    fees, interest, kind, merchant, channel, partner_interface, status,
                    created_at, collection_paused)
                SELECT 'LB' || lpad(id::text, 14, '0'), id, 100, 100, 0, 0, 'installment', '',
                       'app', '', 'posted', now() - interval '300 days', false
                FROM a
                RETURNING id, account_id
            )
            INSERT INTO accounts_installment (loan_id, account_id, number, due_on, amount,
                paid_amount, paid_on)
            SELECT l.id, l.account_id, k, current_date - 20 * k, 10, 0, NULL
            FROM l, generate_series(1, CASE WHEN l.account_id %% 2 = 0 THEN %(overdue)s
                                            ELSE 1 END) k
            """,
            {"n": n, "overdue": overdue, "start": start},
        )
    delinquency_refresh()


def _scan_queries(batches: int) -> int:
    """count + per batch (savepoint, statement, anomaly rules, release) + daily check (3)."""
    return 1 + 4 * batches + 3


def _scan(system_user, **kw):
    with CaptureQueriesContext(connection) as ctx:
        result = risk_scan_run(actor=system_user, **kw)
    return result, len(ctx.captured_queries)


def test_scan_proposes_with_evidence_history_and_events(system_user):
    _bulk_accounts(20)
    result, _ = _scan(system_user)
    assert result.proposed == 10
    closure = ClosureRequest.objects.first()
    assert closure.reason == ClosureReason.OVERDUE
    assert closure.status == ClosureStatus.PENDING_REVIEW
    assert closure.explanation
    assert closure.evidence[0]["kind"] == "overdue"
    assert closure.risk_signals.get().details["overdue_count"] == 4
    assert closure.history.get().history_user_id == system_user.pk
    assert RiskSignal.history.filter(history_user_id=system_user.pk).count() == 10
    assert ClosureEvent.objects.filter(kind="proposed").count() == 10
    # A second scan finds nothing new: every candidate has an open closure.
    again, _ = _scan(system_user)
    assert again.proposed == 0
    assert ClosureRequest.objects.count() == 10


def test_query_count_does_not_grow_with_accounts(system_user, settings):
    # The daily-spike alert is raised once a day (a constant, but only on the first scan).
    settings.CLOSURE_ALERT_DAILY_MIN = 10**9
    _bulk_accounts(1_000)
    small, small_queries = _scan(system_user)
    assert small.proposed == 500
    _bulk_accounts(10_000, start=1_000)
    big, big_queries = _scan(system_user)
    assert big.proposed == 5_000
    assert big_queries == small_queries


def test_batches_cost_one_query_each(system_user, settings):
    settings.CLOSURE_ALERT_DAILY_MIN = 10**9  # no alert: only the scan's own queries
    _bulk_accounts(2_000)
    result, queries = _scan(system_user, batch_size=300)
    assert result.proposed == 1_000
    assert result.batches == 4  # ceil(1000 / 300)
    # the count; per batch, in its savepoint, the statement and the anomaly rules over the
    # batch's proposals; the daily anomaly aggregate in its savepoint
    assert queries == _scan_queries(result.batches)


def test_command_prints_a_summary(system_user, capsys):
    _bulk_accounts(10)
    call_command("run_risk_scan", verbosity=0)
    assert "5 closures proposed" in capsys.readouterr().out


@pytest.mark.slow
def test_scan_at_100k_accounts(system_user, settings):
    settings.CLOSURE_ALERT_DAILY_MIN = 10**9
    _bulk_accounts(100_000)
    result, queries = _scan(system_user)
    assert result.proposed == 50_000
    assert queries == _scan_queries(result.batches) and result.batches == 3
