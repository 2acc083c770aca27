"""Benchmarks, apart from the tests: `python -m bench` (or `make bench`) runs every module in this
package, each in its own process; `python -m bench seed --customers 5000` runs one with options.

A benchmark module defines `main(argv: list[str] | None = None) -> None`, prints what it measured
and the ratio to its target, and never fails on time. `scratch_database()` gives it a throw-away
PostgreSQL database next to the one in DATABASE_URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@contextmanager
def scratch_database(name_suffix: str) -> Iterator[str]:
    """Create `<db>_<suffix>` on the server of DATABASE_URL, point DATABASE_URL at it for this
    process (call before django.setup()), and drop it afterwards."""
    import psycopg

    base = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(base)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit("Benchmarks need DATABASE_URL=postgres://... (make bench sets it).")
    scratch = f"{parts.path.lstrip('/') or 'postgres'}_{name_suffix}"
    admin_url = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{scratch}"')
    os.environ["DATABASE_URL"] = urlunsplit(
        (parts.scheme, parts.netloc, f"/{scratch}", parts.query, "")
    )
    try:
        yield os.environ["DATABASE_URL"]
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - Django may not be set up
            pass
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        os.environ["DATABASE_URL"] = base


def django_setup() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
    django.setup()


def cpu_check_ms() -> float:
    """Milliseconds of one core for a fixed pure-Python loop (2,000,000 additions), the best of
    five. This machine's cores are not always as fast: the same loop has taken from 70 to 170
    ms on an idle machine within minutes, so a figure is comparable with another run's only
    next to this one."""
    import time

    best = float("inf")
    for _ in range(5):
        started, total = time.process_time(), 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.process_time() - started)
    return best * 1000


def load_average() -> str:
    """The load averages and the CPU check (cpu_check_ms), printed with every bench's figures."""
    try:
        loads = " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        loads = "n/a"
    return f"{loads}; CPU check {cpu_check_ms():.0f} ms"


def free_port() -> int:
    """A free TCP port on the loopback interface, for a server the benchmark starts."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manager_session_cookie() -> str:
    """A signed-in, OTP-verified manager session made server-side (signing in is not timed), as
    a Cookie header value. The server must run with this process's SECRET_KEY."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.staff import staff_upsert
    from core.audit import system_actor

    user, device = staff_upsert(
        actor=system_actor("bench"), reason="bench", username="bench-manager", role="manager"
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "core.permissions.PermissionBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["otp_device_id"] = device.persistent_id
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def cpu_seconds(*, pids: set[int] = frozenset(), group: int | None = None) -> float:
    """CPU time (user + system) used so far by the processes `pids` and by every process of the
    process group `group` (from /proc; 0 where it is not readable)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, pgrp, ..., utime (14th field), stime (15th).
        if int(entry.name) in pids or (group is not None and int(fields[2]) == group):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total
