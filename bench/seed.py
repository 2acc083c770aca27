"""Seeding throughput: N bulk demo customers (default 20,000) with accounts, loan records and
authorization events, each row with its history row, into a scratch database. Prints rows per
second (base and history rows both counted) and the ratio to the 10,000 rows/s target."""

from __future__ import annotations

import argparse
import time

from bench import django_setup, load_average, scratch_database

TARGET_ROWS_PER_SECOND = 10_000
TABLES = ("user", "customer", "creditaccount", "loanrecord", "authorizationevent")


def _count_rows() -> int:
    from django.db import connection

    total = 0
    with connection.cursor() as cursor:
        for name in TABLES:
            for table in (f"accounts_{name}", f"accounts_historical{name}"):
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
                total += cursor.fetchone()[0]
    return total


def _backend_cpu_seconds() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend (Linux, local server)."""
    import os

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_cost(*, start: int, customers: int, loans_per_account: int, actor_id: int) -> None:
    """Load-independent view: CPU seconds (this process + its PostgreSQL backend) per row for
    one batch seeded in-process. The wall-clock rate above depends on what else the machine
    runs; this one says what a core can do."""
    from django.utils import timezone

    from accounts.demo import BatchJob, _seed_batch

    job = BatchJob(
        list(range(start, start + customers)), 1, loans_per_account, timezone.now(), actor_id
    )
    pg_before = _backend_cpu_seconds()
    py_before = time.process_time()
    _created, _skipped, rows = _seed_batch(job)
    py_cpu = time.process_time() - py_before
    pg_after = _backend_cpu_seconds()
    if pg_before is None or pg_after is None or not rows:
        print("seed: CPU cost per row not measurable here (PostgreSQL not local)")
        return
    pg_cpu = pg_after - pg_before
    per_core = rows / (py_cpu + pg_cpu)
    print(
        f"seed: CPU cost {1e6 * (py_cpu + pg_cpu) / rows:.0f} us/row "
        f"(Python {1e6 * py_cpu / rows:.0f}, PostgreSQL {1e6 * pg_cpu / rows:.0f}): "
        f"{per_core:,.0f} rows/s per busy core; ratio per core "
        f"{per_core / TARGET_ROWS_PER_SECOND:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench seed")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--loans-per-account", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=None, help="default: one per CPU, max 4")
    args = parser.parse_args(argv)

    with scratch_database("bench_seed"):
        django_setup()
        from django.core.management import call_command

        from accounts.demo import default_workers, demo_customers_bulk_seed
        from core.audit import system_actor

        call_command("migrate", verbosity=0)
        actor = system_actor("bench")
        before = _count_rows()
        workers = args.workers or default_workers(args.customers, args.batch_size)
        started = time.perf_counter()
        report = demo_customers_bulk_seed(
            actor=actor,
            customers=args.customers,
            loans_per_account=args.loans_per_account,
            seed=1,
            batch_size=args.batch_size,
            workers=workers,
            progress=False,
        )
        elapsed = time.perf_counter() - started
        rows = _count_rows() - before
        assert rows == report.rows_written, (rows, report.rows_written)
        rate = rows / elapsed
        print(
            f"seed: {args.customers} customers, {rows} rows incl. history in {elapsed:.1f} s "
            f"({workers} worker(s), load average {load_average()})"
        )
        print(
            f"seed: {rate:,.0f} rows/s; target {TARGET_ROWS_PER_SECOND:,} rows/s; "
            f"ratio {rate / TARGET_ROWS_PER_SECOND:.2f}"
        )
        _cpu_cost(
            start=args.customers + 1,
            customers=min(2000, max(args.customers // 10, 100)),
            loans_per_account=args.loans_per_account,
            actor_id=actor.pk,
        )


if __name__ == "__main__":
    main()
