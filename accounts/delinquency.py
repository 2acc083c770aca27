"""The overdue figures (AccountDelinquency), derived from the repayment schedules.

An installment is overdue when it is still unpaid after its due date plus the grace days
(`OVERDUE_GRACE_DAYS`, default 3), or was paid after that; an account's overdue count is the
number of its installments unpaid past due + grace, plus those paid late within the last 12
months (seed 000: 逾期还款记录累积到一定次数). Installments of disputed or reversed loans, and of
loans whose collection is paused, never count. Beside the count: how many are unpaid now, the
amount past due and the oldest unpaid due date.

The figures live in their own table, without history: it can be recomputed at any time from
the schedules, and a refresh writes only the rows whose figures changed (`INSERT ... ON
CONFLICT DO UPDATE ... WHERE ... IS DISTINCT FROM`).

- `delinquency_refresh_accounts(account_ids)`: one statement, inside the caller's transaction
  (each repayment, dispute, undispute and reversal calls it for its account).
- `delinquency_refresh()`: every account, set-based: the same statement over account-id ranges
  of `batch_size`, each range its own transaction, nothing but two integers held in Python
  (flat memory). `incremental=True` recomputes only the accounts that may have changed since
  the last finished run: installments that fell due, late payments leaving the 12-month window,
  loans and installments written since (their history rows), accounts without figures.
  `manage.py refresh_delinquency [--incremental]`, and the nightly beat (incremental).

On PostgreSQL all of this is SQL; elsewhere (the SQLite of `make run`) the same figures are
computed in Python per account (`figures_compute`), which a test holds to the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from .enums import LoanStatus
from .models import (
    ZERO,
    AccountDelinquency,
    CreditAccount,
    DelinquencyRun,
    Installment,
    LoanRecord,
)
from .schedules import add_months, grace_days

DEFAULT_BATCH_SIZE = 50_000
FIGURES = ("overdue_count", "overdue_open", "amount_past_due", "oldest_past_due_on")
_NOT_COUNTED = (LoanStatus.DISPUTED, LoanStatus.REVERSED)


@dataclass(frozen=True)
class Clock:
    """The dates a refresh judges by: today, the last due date that is past due + grace, and
    the start of the 12-month window."""

    today: date
    grace: int

    @property
    def cutoff(self) -> date:  # installments due before this are past due + grace
        return self.today - timedelta(days=self.grace)

    @property
    def window_start(self) -> date:  # late payments after this day count
        return add_months(self.today, -12)


def clock_now(today: date | None = None) -> Clock:
    return Clock(today=today or timezone.localdate(), grace=grace_days())


# --- The statement (PostgreSQL) -------------------------------------------------------------------


def _refresh_sql(*, accounts: str, installments: str, loans: str) -> str:
    """Recompute the figures of the accounts matching `accounts` (a predicate on `a`), whose
    installments and loans match `installments` and `loans` (the same predicate on
    `i.account_id`, `l.account_id`: the planner then reads one account range of each table, never
    the whole loans table), writing only the rows that changed. Only installments not paid on
    time are read (installment_late_idx)."""
    not_counted = ", ".join(f"'{s}'" for s in _NOT_COUNTED)
    return f"""
WITH late AS (
    SELECT i.account_id,
           count(*) FILTER (WHERE i.paid_on IS NULL OR i.paid_on > %(window_start)s)
               AS overdue_count,
           count(*) FILTER (WHERE i.paid_on IS NULL) AS overdue_open,
           COALESCE(sum(i.amount - i.paid_amount) FILTER (WHERE i.paid_on IS NULL), 0)
               AS amount_past_due,
           min(i.due_on) FILTER (WHERE i.paid_on IS NULL) AS oldest_past_due_on
    FROM accounts_installment i
    JOIN accounts_loanrecord l ON l.id = i.loan_id AND {loans}
    WHERE {installments}
      AND (i.paid_on IS NULL OR i.paid_on > i.due_on)
      AND i.due_on < %(cutoff)s
      AND (i.paid_on IS NULL OR i.paid_on > i.due_on + %(grace)s::int)
      AND l.status NOT IN ({not_counted}) AND NOT l.collection_paused
    GROUP BY i.account_id
)
INSERT INTO accounts_accountdelinquency AS d
    (account_id, overdue_count, overdue_open, amount_past_due, oldest_past_due_on, changed_at)
SELECT a.id, COALESCE(late.overdue_count, 0), COALESCE(late.overdue_open, 0),
       COALESCE(late.amount_past_due, 0), late.oldest_past_due_on, %(now)s
FROM accounts_creditaccount a LEFT JOIN late ON late.account_id = a.id
WHERE {accounts}
ON CONFLICT (account_id) DO UPDATE SET
    overdue_count = EXCLUDED.overdue_count,
    overdue_open = EXCLUDED.overdue_open,
    amount_past_due = EXCLUDED.amount_past_due,
    oldest_past_due_on = EXCLUDED.oldest_past_due_on,
    changed_at = EXCLUDED.changed_at
WHERE (d.overdue_count, d.overdue_open, d.amount_past_due, d.oldest_past_due_on)
      IS DISTINCT FROM (EXCLUDED.overdue_count, EXCLUDED.overdue_open,
                        EXCLUDED.amount_past_due, EXCLUDED.oldest_past_due_on)
"""  # noqa: S608 - table names and enum constants only; values are parameters


_RANGE_SQL = _refresh_sql(
    accounts="a.id > %(after)s AND a.id <= %(upto)s",
    installments="i.account_id > %(after)s AND i.account_id <= %(upto)s",
    loans="l.account_id > %(after)s AND l.account_id <= %(upto)s",
)
_IDS_SQL = _refresh_sql(
    accounts="a.id = ANY(%(ids)s)",
    installments="i.account_id = ANY(%(ids)s)",
    loans="l.account_id = ANY(%(ids)s)",
)


def _params(clock: Clock, now: datetime) -> dict:
    return {
        "cutoff": clock.cutoff,
        "grace": clock.grace,
        "window_start": clock.window_start,
        "now": now,
    }


# --- The same figures in Python (other databases; and the check of the statement) ---------------


def figures_compute(
    rows: Iterable[tuple[date, Decimal, Decimal, date | None, str, bool]], clock: Clock
) -> dict:
    """The figures from an account's installments as (due_on, amount, paid_amount, paid_on,
    loan status, collection paused)."""
    figures = {"overdue_count": 0, "overdue_open": 0, "amount_past_due": ZERO,
               "oldest_past_due_on": None}  # fmt: skip
    for due_on, amount, paid_amount, paid_on, status, paused in rows:
        if status in _NOT_COUNTED or paused or due_on >= clock.cutoff:
            continue
        if paid_on is None:
            figures["overdue_count"] += 1
            figures["overdue_open"] += 1
            figures["amount_past_due"] += amount - paid_amount
            oldest = figures["oldest_past_due_on"]
            figures["oldest_past_due_on"] = due_on if oldest is None else min(oldest, due_on)
        elif paid_on > due_on + timedelta(days=clock.grace) and paid_on > clock.window_start:
            figures["overdue_count"] += 1
    return figures


def _refresh_in_python(account_ids: list[int], clock: Clock, now: datetime) -> int:
    rows: dict[int, list] = {pk: [] for pk in account_ids}
    installments = Installment.objects.filter(account_id__in=account_ids).values_list(
        "account_id", "due_on", "amount", "paid_amount", "paid_on",
        "loan__status", "loan__collection_paused",
    )  # fmt: skip
    for account_id, *row in installments:
        rows[account_id].append(row)
    existing = {d.account_id: d for d in AccountDelinquency.objects.filter(pk__in=account_ids)}
    written = 0
    for account_id, account_rows in rows.items():
        figures = figures_compute(account_rows, clock)
        current = existing.get(account_id)
        if current is not None and all(getattr(current, k) == v for k, v in figures.items()):
            continue
        AccountDelinquency.objects.update_or_create(
            account_id=account_id, defaults={**figures, "changed_at": now}
        )
        written += 1
    return written


# --- Entry points -------------------------------------------------------------------------------


def delinquency_refresh_accounts(
    *, account_ids: Iterable[int], today: date | None = None, now: datetime | None = None
) -> int:
    """Recompute these accounts' figures in the caller's transaction (one statement on
    PostgreSQL). Returns the number of rows written."""
    ids = sorted(set(account_ids))
    if not ids:
        return 0
    clock, now = clock_now(today), now or timezone.now()
    if connection.vendor != "postgresql":
        return _refresh_in_python(ids, clock, now)
    with connection.cursor() as cursor:
        cursor.execute(_IDS_SQL, {**_params(clock, now), "ids": ids})
        return cursor.rowcount


def delinquency_refresh_account(*, account_id: int) -> int:
    return delinquency_refresh_accounts(account_ids=[account_id])


@dataclass
class RefreshResult:
    accounts: int = 0
    changed: int = 0
    batches: int = 0
    incremental: bool = False


# Accounts that may have changed since the last run (its day `since_day`, its start `since`).
_TOUCHED_SQL = """
CREATE TEMP TABLE delinquency_touched ON COMMIT DROP AS
SELECT account_id AS id FROM accounts_installment
    WHERE paid_on IS NULL AND due_on >= %(since_cutoff)s AND due_on < %(cutoff)s
UNION
SELECT account_id FROM accounts_installment
    WHERE paid_on > due_on AND paid_on > %(since_window)s AND paid_on <= %(window_start)s
UNION
SELECT account_id FROM accounts_historicalinstallment WHERE history_date >= %(since)s
UNION
SELECT account_id FROM accounts_historicalloanrecord WHERE history_date >= %(since)s
UNION
SELECT a.id FROM accounts_creditaccount a
    WHERE NOT EXISTS (SELECT 1 FROM accounts_accountdelinquency d WHERE d.account_id = a.id)
"""


def _last_run() -> DelinquencyRun | None:
    return DelinquencyRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()


def delinquency_refresh(
    *,
    incremental: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    today: date | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Recompute the figures of every account (or, incremental, of the accounts that may have
    changed since the last finished run; a full run when there was none)."""
    clock, started = clock_now(today), timezone.now()
    last = _last_run() if incremental else None
    result = RefreshResult(incremental=last is not None)
    run = DelinquencyRun.objects.create(
        started_at=started, as_of=clock.today, incremental=result.incremental
    )
    params = _params(clock, started)
    if connection.vendor != "postgresql":
        ids = list(CreditAccount.objects.order_by("pk").values_list("pk", flat=True))
        if last is not None:
            ids = _touched_in_python(last, clock)
        for start in range(0, len(ids), batch_size):
            with transaction.atomic():
                chunk = ids[start : start + batch_size]
                result.changed += _refresh_in_python(chunk, clock, started)
            result.accounts += len(chunk)
            result.batches += 1
            if progress:
                progress(result.accounts, len(ids))
    elif last is not None:
        _refresh_touched(last, clock, params, batch_size, result, progress)
    else:
        _refresh_all(params, batch_size, result, progress)
    run.finished_at = timezone.now()
    run.accounts, run.changed = result.accounts, result.changed
    run.save(update_fields=["finished_at", "accounts", "changed"])
    return result


def _refresh_all(params: dict, batch_size: int, result: RefreshResult, progress) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), COALESCE(max(id), 0) FROM accounts_creditaccount")
        total, last_id = cursor.fetchone()
    after = 0
    while after < last_id:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM accounts_creditaccount WHERE id > %s ORDER BY id OFFSET %s LIMIT 1",
                [after, batch_size - 1],
            )
            row = cursor.fetchone()
            upto = row[0] if row else last_id
            with transaction.atomic():
                # A batch is short and planned alike each time: compiling it costs more.
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(_RANGE_SQL, {**params, "after": after, "upto": upto})
                result.changed += cursor.rowcount
        result.accounts += min(batch_size, total - result.accounts)
        result.batches += 1
        if progress:
            progress(result.accounts, total)
        after = upto


def _since(last: DelinquencyRun, clock: Clock) -> dict:
    last_clock = Clock(today=last.as_of, grace=clock.grace)
    return {
        "since": last.started_at,
        "since_cutoff": last_clock.cutoff,
        "since_window": last_clock.window_start,
    }


def _refresh_touched(
    last: DelinquencyRun, clock: Clock, params: dict, batch_size: int, result, progress
) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TOUCHED_SQL, {**params, **_since(last, clock)})
        cursor.execute("SELECT count(*) FROM delinquency_touched")
        total = cursor.fetchone()[0]
        after = 0
        while True:
            cursor.execute(
                "SELECT array_agg(id) FROM (SELECT id FROM delinquency_touched WHERE id > %s "
                "ORDER BY id LIMIT %s) t",
                [after, batch_size],
            )
            ids = cursor.fetchone()[0]
            if not ids:
                return
            cursor.execute(_IDS_SQL, {**params, "ids": ids})
            result.changed += cursor.rowcount
            result.accounts += len(ids)
            result.batches += 1
            if progress:
                progress(result.accounts, total)
            after = max(ids)


def _touched_in_python(last: DelinquencyRun, clock: Clock) -> list[int]:
    since = _since(last, clock)
    ids = set(
        Installment.objects.filter(
            paid_on__isnull=True, due_on__gte=since["since_cutoff"], due_on__lt=clock.cutoff
        ).values_list("account_id", flat=True)
    )
    ids |= set(
        Installment.objects.filter(paid_on__gt=models.F("due_on"))
        .filter(paid_on__gt=since["since_window"], paid_on__lte=clock.window_start)
        .values_list("account_id", flat=True)
    )
    ids |= set(
        Installment.history.filter(history_date__gte=since["since"]).values_list(
            "account_id", flat=True
        )
    )
    ids |= set(
        LoanRecord.history.filter(history_date__gte=since["since"]).values_list(
            "account_id", flat=True
        )
    )
    ids |= set(CreditAccount.objects.filter(delinquency__isnull=True).values_list("pk", flat=True))
    return sorted(ids)


# --- Reads -----------------------------------------------------------------------------------------


def overdue_count_of(*, account_id: int) -> int:
    """The account's computed overdue count (0 when it has no figures yet)."""
    value = (
        AccountDelinquency.objects.filter(account_id=account_id)
        .values_list("overdue_count", flat=True)
        .first()
    )
    return value or 0
