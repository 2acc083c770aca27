"""Overdue-figures benchmark: `python -m bench delinquency --accounts 1000000 --loans 5`.

Builds, set-based with generate_series in a scratch database, N accounts with M loans each
(70 % purchases due once, 18 % installment loans of 3, 6 or 12 months, 12 % cash loans; 1 % of
the loans disputed) and their schedules (installments due in the past mostly paid on time, 3 %
paid late, 2 % unpaid), then times `refresh_delinquency`: the first full run (every account's
row written), a second full run (nothing changed: nothing written), and an incremental run the
next day. Prints seconds, accounts/s and installments/s, and the peak RSS of this process and of
the PostgreSQL backend after each run (flat memory: the same at 100k and at 1M accounts).
Target (issue 12): the full run over 1M accounts and 5M loans in <= 120 s; it never fails on
time.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import timedelta

from bench import django_setup, load_average, scratch_database

TARGET_SECONDS_AT_1M = 120.0

_ACCOUNTS_SQL = """
WITH u AS (
    INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
        is_staff, is_active, date_joined, security_stamp)
    SELECT '!', false, 'dq' || g, '', '', '', false, true, now(), 'x'
    FROM generate_series(1, %(n)s) g
    RETURNING id, username
), c AS (
    INSERT INTO accounts_customer (user_id, name, national_id, national_id_index, phone,
        phone_index, preferred_language, created_at)
    SELECT id, username, 'x', username, 'x', username, 'zh-hans', now() FROM u
    RETURNING id
)
INSERT INTO accounts_creditaccount (number, customer_id, status, credit_limit,
    outstanding_balance, available_credit, interest_free_days, overdue_count, opened_at)
SELECT '77' || lpad(id::text, 14, '0'), id, 'active', 100000, 0, 100000, 30, 0,
       now() - interval '600 days'
FROM c
"""

# h: a deterministic spread of (account, k) over 0..999.
_LOANS_SQL = """
INSERT INTO accounts_loanrecord (reference, account_id, amount, outstanding_amount, fees,
    interest, kind, merchant, channel, partner_interface, status, created_at,
    collection_paused)
SELECT 'LQ' || a.id || '-' || k, a.id, 1200, 1200, 0, 0,
       CASE WHEN h < 700 THEN 'purchase' WHEN h < 880 THEN 'installment' ELSE 'cash' END,
       '', 'app', '', CASE WHEN h2 < 10 THEN 'disputed' ELSE 'posted' END,
       now() - make_interval(days => h3::int), h2 < 10
FROM accounts_creditaccount a, generate_series(1, %(m)s) k,
     LATERAL (SELECT ((a.id * 5 + k) * 2654435761) %% 1000 AS h,
                     ((a.id * 5 + k) * 40503) %% 1000 AS h2,
                     ((a.id * 5 + k) * 97) %% 541 AS h3) r
ORDER BY a.id, k
"""

_INSTALLMENTS_SQL = """
INSERT INTO accounts_installment (loan_id, account_id, number, due_on, amount, paid_amount,
    paid_on)
SELECT l.id, l.account_id, n, s.due_on, s.amount,
       CASE WHEN s.due_on < current_date AND s.h >= 20 THEN s.amount ELSE 0 END,
       CASE WHEN s.due_on >= current_date OR s.h < 20 THEN NULL
            WHEN s.h < 50 THEN s.due_on + 10
            ELSE s.due_on - 2 END
FROM accounts_loanrecord l,
     LATERAL generate_series(1, CASE WHEN l.kind = 'installment'
                                     THEN (ARRAY[3, 6, 12])[1 + l.id %% 3] ELSE 1 END) n,
     LATERAL (SELECT CASE WHEN l.kind = 'installment'
                          THEN (l.created_at::date + make_interval(months => n))::date
                          ELSE l.created_at::date + 30 END AS due_on,
                     CASE WHEN l.kind = 'installment'
                          THEN 1200 / (ARRAY[3, 6, 12])[1 + l.id %% 3] ELSE 1200 END AS amount,
                     ((l.id * 31 + n) * 2654435761) %% 1000 AS h) s
ORDER BY l.account_id, l.id, n
"""


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _backend_peak_mb(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:
        pass
    return "n/a"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench delinquency")
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--loans", type=int, default=5, help="loans per account")
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)
    with scratch_database("bench_delinquency"):
        django_setup()
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from accounts.delinquency import DEFAULT_BATCH_SIZE, delinquency_refresh

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Bulk load only: no FK or trigger checks while the generated rows go in.
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(_ACCOUNTS_SQL, {"n": args.accounts})
            cursor.execute(_LOANS_SQL, {"m": args.loans})
            cursor.execute(_INSTALLMENTS_SQL, {})
            cursor.execute("SET session_replication_role = DEFAULT")
            for table in ("creditaccount", "loanrecord", "installment"):
                cursor.execute(f"VACUUM ANALYZE accounts_{table}")
            cursor.execute("SELECT count(*) FROM accounts_installment")
            installments = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM accounts_loanrecord")
            loans = cursor.fetchone()[0]
        print(
            f"data: {args.accounts:,} accounts, {loans:,} loans, {installments:,} installments "
            f"generated in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        batch = args.batch_size or DEFAULT_BATCH_SIZE
        today = timezone.localdate()
        runs = (
            ("full, first", {}),
            ("full, nothing changed", {}),
            ("incremental, next day", {"incremental": True, "today": today + timedelta(days=1)}),
        )
        for label, options in runs:
            started = time.perf_counter()
            result = delinquency_refresh(batch_size=batch, **options)
            elapsed = time.perf_counter() - started
            extra = ""
            if not options:
                ratio = TARGET_SECONDS_AT_1M * args.accounts / 1_000_000 / elapsed
                extra = (
                    f" {installments / elapsed:,.0f} installments/s; target "
                    f"{TARGET_SECONDS_AT_1M:.0f} s at 1M (scaled), ratio {ratio:.2f};"
                )
            print(
                f"refresh ({label}): {result.accounts:,} accounts in {result.batches} batch(es) "
                f"of {batch:,}, {result.changed:,} rows written in {elapsed:.1f} s "
                f"({result.accounts / elapsed:,.0f} accounts/s;{extra} peak RSS {_rss_mb():.0f} "
                f"MB, backend {_backend_peak_mb(connection)}); load {load_average()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
