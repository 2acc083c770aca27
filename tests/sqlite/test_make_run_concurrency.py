"""`make run` on SQLite: the web server, a Celery worker and beat write one database file at once.

Before WAL, a busy timeout and IMMEDIATE transactions (backoffice/settings.py), 20 minutes of
`make run` logged 18 `database is locked` errors, late notices and one marked failed. This test
runs the three processes of scripts/run.sh against their own SQLite file and their own
filesystem broker in a temporary folder, files complaints through the API from several threads
while the worker sends and beat sweeps, and then requires every notice sent, none failed and no
"database is locked" anywhere in the logs.

It does not touch the test database: the suite itself stays on PostgreSQL; here Django runs in
subprocesses with DATABASE_URL=sqlite:///... (the test process reads the file with sqlite3).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bench import free_port

pytestmark = [pytest.mark.slow, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
CELERY = str(Path(sys.executable).with_name("celery"))
THREADS = 4
COMPLAINTS_PER_THREAD = 6


def _env(tmp: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "CELERY_", "CACHE_URL", "EMAIL_URL", "DJANGO_"))
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "VAR_DIR": str(tmp / "var"),
            "DEBUG": "true",
            "PYTHONUNBUFFERED": "1",
            # Throttles are not what this test measures.
            "API_THROTTLE_USER": "100000/min",
        }
    )
    return env


def _post(url: str, body: dict, token: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
        method="POST",
    )
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer")


def test_web_worker_and_beat_on_sqlite_lose_and_fail_no_notice(tmp_path):
    env = _env(tmp_path)
    var = tmp_path / "var"
    for folder in ("mail", "sms", "uploads", "broker/out", "broker/processed", "broker/control"):
        (var / folder).mkdir(parents=True, exist_ok=True)
    manage = [PY, str(ROOT / "manage.py")]
    subprocess.run(
        [*manage, "migrate", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
    )
    subprocess.run(
        [*manage, "seed_demo"], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True
    )
    db = tmp_path / "db.sqlite3"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    port = free_port()
    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("web", "worker", "beat")}
    commands = {
        "worker": [
            CELERY,
            "-A",
            "backoffice",
            "worker",
            "--loglevel=INFO",
            "--concurrency=2",
            "--without-gossip",
            "--without-mingle",
        ],
        "beat": [
            CELERY,
            "-A",
            "backoffice",
            "beat",
            "--loglevel=INFO",
            "--schedule",
            str(var / "celerybeat-schedule"),
        ],
        "web": [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
    }
    processes = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, command in commands.items()
    ]
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz", time.monotonic() + 60)
        status, body = _post(
            f"{base}/api/v1/auth/token/", {"username": "alice", "password": "alice-demo-pass"}
        )
        assert status == 200, body
        token = body["token"]
        with sqlite3.connect(db) as conn:
            (account,) = conn.execute(
                "SELECT a.id FROM accounts_creditaccount a JOIN accounts_customer c"
                " ON c.id = a.customer_id JOIN accounts_user u ON u.id = c.user_id"
                " WHERE u.username = 'alice' AND a.status = 'active' ORDER BY a.id LIMIT 1"
            ).fetchone()
            notices_before = conn.execute("SELECT COUNT(*) FROM notices_notice").fetchone()[0]

        answers: list[int] = []

        def file_complaints(n: int) -> None:
            for i in range(COMPLAINTS_PER_THREAD):
                code, _ = _post(
                    f"{base}/api/v1/complaints/",
                    {
                        "category": "service",
                        "account": account,
                        "description": f"thread {n} complaint {i}: the app kept logging me out",
                    },
                    token,
                )
                answers.append(code)

        threads = [threading.Thread(target=file_complaints, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers.count(201) == THREADS * COMPLAINTS_PER_THREAD, answers

        # Every notice those complaints caused leaves the outbox: sent, none failed.
        deadline = time.monotonic() + 120
        while True:
            with sqlite3.connect(db) as conn:
                counts = dict(
                    conn.execute("SELECT status, COUNT(*) FROM notices_notice GROUP BY status")
                )
                total = conn.execute("SELECT COUNT(*) FROM notices_notice").fetchone()[0]
            unsent = total - counts.get("sent", 0)
            if unsent == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert total > notices_before  # the complaints' acknowledgements are there
        assert counts.get("failed", 0) == 0, counts
        assert unsent == 0, counts
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for log in logs.values():
            log.close()
    text = "".join((tmp_path / f"{name}.log").read_text() for name in logs)
    assert "database is locked" not in text
    assert "raised unexpected" not in text  # no task failed (a PostgreSQL-only statement, say)
    assert "Traceback" not in text, text[-4000:]
