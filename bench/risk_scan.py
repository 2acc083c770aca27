"""Risk-scan benchmark: `python -m bench risk_scan --accounts 100000`.

Creates N accounts (half at or over the overdue threshold) with set-based SQL in a scratch
database, runs the risk scan once, and prints accounts/s, proposals/s and the queries used.
Target: >= 10,000 proposals/s with history (PRODUCT.md "bulk paths"); it never fails on time.
"""

from __future__ import annotations

import argparse
import os
import time

from bench import django_setup, load_average, scratch_database

TARGET_PROPOSALS_PER_S = 10_000

_ACCOUNTS_SQL = """
WITH u AS (
    INSERT INTO accounts_user (password, is_superuser, username, first_name, last_name, email,
        is_staff, is_active, date_joined, security_stamp)
    SELECT '!', false, 'scan' || g, '', '', '', false, true, now(), 'x'
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
SELECT '77' || lpad(id::text, 14, '0'), id, 'active', 1000, 0, 1000, 30,
       CASE WHEN id %% 2 = 0 THEN 4 ELSE 1 END, now()
FROM c
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench risk_scan")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args(argv)
    # The alert e-mail of the scan is published on commit; no worker is needed to measure it.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    with scratch_database("bench_risk_scan"):
        django_setup()
        # Django is configured only now (against the scratch database): import after it.
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from closures.risk_scan import DEFAULT_BATCH_SIZE, risk_scan_run
        from core.audit import system_actor

        call_command("migrate", verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(_ACCOUNTS_SQL, {"n": args.accounts})
            cursor.execute("ANALYZE accounts_creditaccount")
        actor = system_actor("bench")
        batch = args.batch_size or DEFAULT_BATCH_SIZE
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            result = risk_scan_run(actor=actor, batch_size=batch)
        elapsed = time.perf_counter() - started
        rate = result.proposed / elapsed if elapsed else 0.0
        print(
            f"risk scan: {args.accounts} accounts, {result.candidates} over the threshold, "
            f"{result.proposed} closures proposed in {elapsed:.2f} s "
            f"({args.accounts / elapsed:,.0f} accounts/s, {rate:,.0f} proposals/s with history); "
            f"{len(ctx.captured_queries)} queries in {result.batches} batch(es) of {batch}; "
            f"target {TARGET_PROPOSALS_PER_S:,}/s, ratio {rate / TARGET_PROPOSALS_PER_S:.2f}; "
            f"load {load_average()}"
        )


if __name__ == "__main__":
    main()
