"""A production-like stack for the fault tests: a private PostgreSQL cluster the test can stop
and start (initdb on a free port, run as the `postgres` user when the suite runs as root),
gunicorn nodes with DEBUG off, and their static files collected once."""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not found: apt-get install postgresql")
    return path


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temporary folder, on a free port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cd-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_postgres: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            os.chown(self.dir, pwd.getpwnam("postgres").pw_uid, -1)
            self.as_postgres = ["runuser", "-u", "postgres", "--"]
        self._run(_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")  # fmt: skip

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, capture_output=True)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options,
                  "-l", str(self.dir / "server.log"), "-w", "-t", "30", "start")  # fmt: skip

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, every connection is cut."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restore(self, name: str, dump: Path) -> None:
        """A database `name` with the schema and rows of `dump` (pg_dump -Fc)."""
        base = ["-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        subprocess.run([_pg_bin("createdb"), *base, name], check=True)
        subprocess.run(
            [_pg_bin("pg_restore"), *base, "-d", name, "--no-owner", str(dump)], check=True
        )

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def dump_database(settings_dict: dict, target: Path) -> Path:
    """pg_dump -Fc of a database of the shared server (the migrated test database)."""
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    subprocess.run(
        [
            _pg_bin("pg_dump"),
            "-h",
            settings_dict.get("HOST") or "127.0.0.1",
            "-p",
            str(settings_dict.get("PORT") or 5432),
            "-U",
            settings_dict.get("USER") or "postgres",
            "-Fc",
            "-f",
            str(target),
            settings_dict["NAME"],
        ],  # fmt: skip
        check=True,
        env=env,
    )
    return target


def database_url(settings_dict: dict) -> str:
    auth = settings_dict["USER"] + (
        f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    )
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}@{host}:{settings_dict.get('PORT') or 5432}/{settings_dict['NAME']}"


# --- Django processes -------------------------------------------------------------------------

SECRET_KEY = "fault-tests-" + "k" * 60
FIELD_KEY = "IqdH1-nFyflVSBKqiY1ttXAACivrXNvbAyKjz0mp-e0="  # a Fernet key of these tests' own


def production_env(**extra: str) -> dict[str, str]:
    """DEBUG off, keys of the test's own (not the committed development keys), no TLS redirect
    (plain HTTP on loopback)."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": FIELD_KEY,
        "BLIND_INDEX_KEY": "fault-tests-blind-index-key",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def django_run(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run `python -c <code>` or a manage.py command in ROOT with `env`; its stdout."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        pytest.fail(f"{args[:2]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


_collected: dict[str, str] = {}


def collected_static(env: dict[str, str]) -> str:
    """STATIC_ROOT with the manifest DEBUG off needs, collected once per test session."""
    if "root" not in _collected:
        root = tempfile.mkdtemp(prefix="cd-static-")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        django_run({**env, "STATIC_ROOT": root}, "manage.py", "collectstatic", "--noinput", "-v0")
        _collected["root"] = root
    return _collected["root"]


class Gunicorn:
    def __init__(self, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "backoffice.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                str(workers),
                "--timeout",
                "30",
                "--graceful-timeout",
                "5",
            ],  # fmt: skip
            cwd=ROOT,
            env={**env, "STATIC_ROOT": collected_static(env)},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{self.base}/healthz", timeout=2)
                break
            except requests.RequestException:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)

    def stop(self) -> None:
        stop_process(self.proc)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
