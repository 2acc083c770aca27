"""The pages over HTTP as a user gets them: gunicorn (2 sync workers, DEBUG off) on a free port
against the bench database, a keep-alive `requests` session per user, the agent signed in
through /admin/login/ with password + TOTP like a person (CSRF token, secure cookies: the
server is told it sits behind TLS with X-Forwarded-Proto, as in production)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from bench import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
WORKERS = 2


@contextmanager
def gunicorn(database_url: str) -> Iterator[tuple[str, int]]:
    """(base URL, master pid) of a gunicorn serving the project on the bench database."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "memory://"),
        # DEBUG off serves static files from the manifest, as in production: collect them.
        "STATIC_ROOT": str(Path(tempfile.gettempdir()) / "bench_complaints_static"),
    }
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "backoffice.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(WORKERS),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=60).status_code < 500:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer /healthz")
        yield base, server.pid
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


class HttpUser:
    """One browser: a keep-alive connection, its cookies (sent by hand: the session cookie is
    Secure and the loopback is plain HTTP behind the pretend proxy)."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.base = base
        self.session = requests.Session()
        self.cookies: dict[str, str] = {}
        self.headers = {"X-Forwarded-Proto": "https", **(headers or {})}

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {**self.headers, **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return headers

    def _keep(self, response: requests.Response) -> requests.Response:
        self.cookies.update({c.name: c.value for c in response.cookies})
        self.session.cookies.clear()
        return response

    def get(self, path: str, headers: dict[str, str] | None = None) -> requests.Response:
        response = self.session.get(
            self.base + path, headers=self._headers(headers), allow_redirects=False, timeout=120
        )
        return self._keep(response)

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        origin = self.base.replace("http://", "https://")
        response = self.session.post(
            self.base + path,
            data=data,
            headers=self._headers({"Origin": origin, "Referer": origin + path}),
            allow_redirects=False,
            timeout=120,
        )
        return self._keep(response)


def staff_login(base: str, *, username: str, password: str, otp_token: str) -> HttpUser:
    """Sign in through the admin's login form (password + TOTP), as a person would."""
    user = HttpUser(base)
    page = user.get("/admin/login/?next=/admin/")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if page.status_code != 200 or match is None:
        raise SystemExit(f"login page: {page.status_code}")
    response = user.post(
        "/admin/login/?next=/admin/",
        {
            "csrfmiddlewaretoken": match.group(1),
            "username": username,
            "password": password,
            "otp_token": otp_token,
            "next": "/admin/",
        },
    )
    if response.status_code != 302 or response.headers.get("Location") != "/admin/":
        raise SystemExit(f"staff login over HTTP failed: {response.status_code}")
    return user


def workers_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) used so far by the gunicorn workers of `master_pid`."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for child in Path("/proc").iterdir():
        if not child.name.isdigit():
            continue
        try:
            fields = (child / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master_pid:  # field 4 (ppid), after the command
            total += (int(fields[11]) + int(fields[12])) / tick
    return total
