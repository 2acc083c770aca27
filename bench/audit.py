"""The activity trail at scale: seeds N trail rows (default 10M) over 50 staff members set-based in
a scratch database, then times, over HTTP through gunicorn with DEBUG off as a manager gets them:
a staff member's newest page, that member's page for one month, and the CSV export of one month
(streamed: the worker's peak memory is printed before and after). Prints medians and the ratio to
the budgets (a page <= 100 ms).

    python -m bench audit [--rows 10000000] [--staff 50] [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench import django_setup, free_port, load_average, manager_session_cookie, scratch_database

ROOT = Path(__file__).resolve().parent.parent
PAGE_BUDGET_MS = 100.0

_SEED_SQL = """
INSERT INTO core_activityentry
    (at, actor_id, actor_username, action, object_type, object_id, object_label,
     changes, reason, ip_address, request_id)
SELECT now() - (g * interval '3 seconds'),
       s.ids[1 + (g %% %(staff)s)], s.names[1 + (g %% %(staff)s)],
       (ARRAY['complaints.complaint.update', 'accounts.creditaccount.update',
              'closures.closurerequest.update', 'auth.login'])[1 + (g %% 4)],
       'complaints.complaint', (g %% 1000000)::text, 'TS' || lpad((g %% 1000000)::text, 10, '0'),
       jsonb_build_object('status', jsonb_build_array('received', 'investigating')),
       '核实客户陈述 / verified the statement #' || g, '10.0.0.1', ''
FROM generate_series(%(start)s, %(stop)s) AS g,
     (SELECT array_agg(id ORDER BY id) AS ids, array_agg(username ORDER BY id) AS names
        FROM accounts_user WHERE username LIKE 'bench-staff-%%') AS s
"""


def _seed(rows: int, staff: int) -> None:
    from django.db import connection

    from accounts.staff import staff_upsert
    from core.audit import system_actor
    from core.models import ActivityEntry

    actor = system_actor("bench")
    for i in range(staff):
        staff_upsert(actor=actor, reason="bench", username=f"bench-staff-{i:02d}", role="agent")
    indexes = ActivityEntry._meta.indexes
    with connection.schema_editor() as editor:
        for index in indexes:
            editor.remove_index(ActivityEntry, index)
    started = time.perf_counter()
    chunk = 1_000_000
    for start in range(1, rows + 1, chunk):
        stop = min(rows, start + chunk - 1)
        with connection.cursor() as cursor:
            cursor.execute(_SEED_SQL, {"staff": staff, "start": start, "stop": stop})
        print(f"  seeded {stop:,} rows", flush=True)
    with connection.schema_editor() as editor:
        for index in indexes:
            editor.add_index(ActivityEntry, index)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_activityentry")
    print(f"seeded {rows:,} trail rows in {time.perf_counter() - started:.0f} s", flush=True)


def _get(url: str, cookie: str) -> tuple[float, int, int]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        size = 0
        while chunk := response.read(1 << 16):
            size += len(chunk)
        status = response.status
    return (time.perf_counter() - started) * 1000, status, size


def _worker_peak_kib(master_pid: int) -> int:
    peak = 0
    for child in Path("/proc").iterdir():
        try:
            status = (child / "status").read_text()
        except OSError:
            continue
        if f"PPid:\t{master_pid}\n" in status:
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak


def _time(label: str, url: str, cookie: str, repeat: int, budget: float | None) -> None:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, headers={"Cookie": cookie, "X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        if b'id="trail-rows"' not in response.read():
            raise SystemExit(f"{label}: not the trail page (is the manager signed in?)")
    runs = [_get(url, cookie) for _ in range(repeat)]
    median = statistics.median(ms for ms, _status, _size in runs)
    status, size = runs[0][1], runs[0][2]
    ratio = f", {median / budget:.2f}× the {budget:.0f} ms budget" if budget else ""
    print(f"{label}: median {median:.1f} ms over {repeat} ({status}, {size:,} bytes){ratio}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench audit")
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    # The manager's session is made in this process and read by gunicorn: one secret for both.
    os.environ["SECRET_KEY"] = "bench-" + "x" * 60
    with scratch_database("bench_audit") as database_url:
        django_setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        _seed(args.rows, args.staff)
        cookie = manager_session_cookie()
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
        }
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "gunicorn",
                "backoffice.wsgi",
                "-b",
                f"127.0.0.1:{port}",
                "-w",
                "2",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    _get(f"{base}/healthz", "")
                    break
                except OSError:
                    time.sleep(0.2)
            print(f"load average {load_average()}")
            actor = "bench-staff-07"
            _time(
                "staff member's newest page",
                f"{base}/admin/audit/?actor={actor}",
                cookie,
                args.repeat,
                PAGE_BUDGET_MS,
            )
            month = "from=2026-10-01&to=2026-10-31" if args.rows >= 3_000_000 else ""
            _time(
                "staff member's page of one month",
                f"{base}/admin/audit/?actor={actor}&{month}",
                cookie,
                args.repeat,
                PAGE_BUDGET_MS,
            )
            _time(
                "action filter, newest page",
                f"{base}/admin/audit/?action=auth.login",
                cookie,
                args.repeat,
                PAGE_BUDGET_MS,
            )
            ms, status, size = _get(f"{base}/admin/audit/?format=csv&actor={actor}&{month}", cookie)
            print(
                f"CSV export of one month of {actor}: {ms:.0f} ms, {size / 1e6:.2f} MB ({status})"
            )
            before = _worker_peak_kib(server.pid)
            ms, status, size = _get(f"{base}/admin/audit/?format=csv&{month}", cookie)
            after = _worker_peak_kib(server.pid)
            print(
                f"CSV export of one month (all staff): {ms / 1000:.1f} s, {size / 1e6:.1f} MB "
                f"({status}); worker peak memory {before / 1024:.0f} MiB before, "
                f"{after / 1024:.0f} MiB after"
            )
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)


if __name__ == "__main__":
    main()
