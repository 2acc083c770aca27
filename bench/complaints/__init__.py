"""Complaint desk at scale: `python -m bench complaints [--complaints 200000] [--accounts 200000]`.

Seeds a scratch PostgreSQL database with set-based SQL (INSERT ... SELECT generate_series, explicit
ids, no per-row Python): users, customers, one credit account each, loan records with one
authorization event each, and complaints with their disputed loan records, case events, internal
notes and review requests. History tables are NOT filled for this data (they are not read by the
pages measured). Then VACUUM ANALYZE.

It then times, in-process with django.test.Client (median and p95 of --repeat requests after
--warmup, and the queries of one request under CaptureQueriesContext):
- the admin complaint queue as an agent signed in through /admin/login/ with password + TOTP:
  every queue filter of complaints.admin.QueueFilter (`?queue=unassigned|mine|due_soon|overdue|
  open`) and the unfiltered list; a case page (rotating over several complaints);
- the customer API with a token: GET /api/v1/complaints/, /api/v1/complaints/<reference>/,
  /api/v1/accounts/, /api/v1/accounts/<id>/loans/.

Budgets (PRODUCT.md "Scale and speed", at 200k complaints and 1M accounts): queue page <= 60 ms,
case page <= 60 ms, API call <= 30 ms median server time; list pages <= 15 queries. The product
target is 1M accounts (`--accounts 1000000`); the default is 200k to keep a run short. For every
page over its budget the slowest query is shown with EXPLAIN ANALYZE.

Modules: `seed.py` (the set-based seeding statements), `measure.py` (timing one page, its
queries, EXPLAIN and cProfile), `run.py` (the pages measured and the report); this module
parses the options and sets up the scratch database.
"""

from __future__ import annotations

import argparse
import os
import time

from bench import django_setup, scratch_database

QUEUE_BUDGET_MS = 60.0
CASE_BUDGET_MS = 60.0
API_BUDGET_MS = 30.0
LIST_QUERY_BUDGET = 15
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
    args = parser.parse_args(argv)
    if args.accounts < 2 or args.complaints < API_CUSTOMER_COMPLAINTS + 10:
        raise SystemExit("Use at least 2 accounts and 70 complaints.")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    wall = time.perf_counter()
    with scratch_database("bench_complaints"):
        django_setup()
        # Imported once Django is set up on the scratch database (they import our models).
        from .run import run

        run(args, started=wall)
