"""Complaint desk at scale: `python -m bench complaints [--complaints 200000] [--accounts 200000]`.

Seeds a scratch PostgreSQL database with set-based SQL (INSERT ... SELECT generate_series, explicit
ids, no per-row Python): users, customers, one credit account each, loan records with one
authorization event each, and complaints with their disputed loan records, case events, internal
notes and review requests. History tables are NOT filled for this data (they are not read by the
pages measured). Then VACUUM ANALYZE.

It then times, over HTTP through gunicorn (2 sync workers, DEBUG off, started on a free port
against the bench database) with keep-alive `requests` sessions (median and p95 of --repeat
requests after --warmup; the queries of one in-process request under CaptureQueriesContext):
- as an agent signed in through /admin/login/ with password + TOTP: every queue filter of
  complaints.admin.QueueFilter (`?queue=unassigned|mine|due_soon|overdue|open`) and the
  unfiltered list; a case page (rotating over several complaints); the customer page
  (/admin/accounts/customer/<id>/, when this build has it); the queue search (complaints.search)
  by reference prefix, name, phone, national ID, loan reference and account number;
- the customer API with a token: GET /api/v1/complaints/, /api/v1/complaints/<reference>/,
  /api/v1/accounts/, /api/v1/accounts/<id>/loans/.

Budgets (issue 13 "Speed", at 1M complaints and 1M accounts): queue pages <= 30 ms, the case
page <= 20 ms with <= 12 queries, the customer page <= 30 ms, the search <= 30 ms, an API call
<= 30 ms; list pages <= 15 queries. For every page over its budget the slowest query is shown
with EXPLAIN ANALYZE (and with --profile one in-process request under cProfile).

Seeding 1M accounts takes many minutes: `--keep-database` seeds into a database that is kept
(`<db>_bench_complaints_<complaints>_<accounts>`); a later run with the same sizes migrates it
and skips the steps already seeded (each step is resumable).

Modules: `seed.py` (the set-based seeding statements), `over_http.py` (gunicorn, the HTTP
sessions, the sign-in), `measure.py` (timing one page, its queries, EXPLAIN and cProfile),
`run.py` (the pages measured and the report); this module parses the options and sets up the
scratch or kept database.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

from bench import django_setup, scratch_database

# Issue 13 "Speed", over HTTP through gunicorn with DEBUG off, at 1M complaints / 1M accounts.
QUEUE_BUDGET_MS = 30.0
CASE_BUDGET_MS = 20.0
CUSTOMER_BUDGET_MS = 30.0
SEARCH_BUDGET_MS = 30.0
API_BUDGET_MS = 30.0
LIST_QUERY_BUDGET = 15
CASE_QUERY_BUDGET = 12
STAFF_PASSWORD = "Bench-staff-pass-2026!"
OTHER_AGENTS = 9
API_CUSTOMER_COMPLAINTS = 60  # more than one API page (50)
API_CUSTOMER_EXTRA_LOANS = 60  # more than one loans page (25)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench complaints")
    parser.add_argument("--complaints", type=int, default=200_000)
    parser.add_argument(
        "--accounts", type=int, default=200_000, help="customers = accounts (product: 1,000,000)"
    )
    parser.add_argument("--loans-per-account", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--explain-all", action="store_true", help="EXPLAIN the slowest query of every page"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one request of each page over budget"
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="seed into <db>_bench_complaints_<complaints>_<accounts> and keep it: a later run "
        "with the same sizes reuses it (migrates, skips the seeding)",
    )
    parser.add_argument(
        "--seed-only", action="store_true", help="with --keep-database: seed, measure nothing"
    )
    args = parser.parse_args(argv)
    if args.accounts < 2 or args.complaints < API_CUSTOMER_COMPLAINTS + 10:
        raise SystemExit("Use at least 2 accounts and 70 complaints.")
    return args


@contextmanager
def kept_database(name_suffix: str) -> Iterator[str]:
    """Like bench.scratch_database, but created only when missing and never dropped (seeding
    1M complaints and 1M accounts takes many minutes)."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(base)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit("Benchmarks need DATABASE_URL=postgres://... (make bench sets it).")
    kept = f"{parts.path.lstrip('/') or 'postgres'}_{name_suffix}"
    admin_url = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [kept]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{kept}"')
    os.environ["DATABASE_URL"] = urlunsplit(
        (parts.scheme, parts.netloc, f"/{kept}", parts.query, "")
    )
    try:
        yield os.environ["DATABASE_URL"]
    finally:
        os.environ["DATABASE_URL"] = base


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    wall = time.perf_counter()
    if args.keep_database:
        database = kept_database(f"bench_complaints_{args.complaints}_{args.accounts}")
    else:
        database = scratch_database("bench_complaints")
    with database:
        django_setup()
        # Imported once Django is set up on the scratch database (they import our models).
        from .run import run

        run(args, started=wall)
