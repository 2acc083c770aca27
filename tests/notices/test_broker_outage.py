"""Issue 14 item 11: after a broker outage every notice is sent within a minute of the broker's
return, with default settings. The test runs its own redis-server (on a free port) as the
broker, a real worker with its embedded beat (the real schedule: `notices.sweep` every
NOTICES_SWEEP_SECONDS), stops the broker, enqueues, parks a retry, starts the broker again and
times how long until every notice is recorded `sent` at the SMTP sink."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from notices.models import Notice
from notices.services import notice_enqueue
from tests.factories import CustomerFactory, UserFactory
from tests.notices.test_worker import ROOT, _database_url, _free_port, smtp  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.worker]

RECOVERY_TARGET = 60.0  # seconds from the broker's return to the last notice sent


class _Redis:
    """A private redis-server that the test stops and starts on the same port."""

    def __init__(self, tmp_path) -> None:
        self.port = _free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)],
            stdout=(self.dir / "redis.log").open("a"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.1)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None


@pytest.fixture
def private_redis(tmp_path):
    server = _Redis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker_with_beat(transactional_db, private_redis, smtp, tmp_path):  # noqa: F811
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "CELERY_BROKER_URL": private_redis.url,
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "VAR_DIR": str(tmp_path / "var"),
        "CONN_MAX_AGE": "0",
    }
    for name in list(env):  # default notice settings, whatever the caller's shell says
        if name.startswith("NOTICES_"):
            env.pop(name)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "-B",
         "-s", str(tmp_path / "beat-schedule"), "--pool=solo", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield log
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_every_notice_is_sent_within_a_minute_of_the_broker_return(
    worker_with_beat,
    private_redis,
    smtp,  # noqa: F811
    monkeypatch,
):
    actor = UserFactory(username="system:tests")
    customers = [CustomerFactory(preferred_language="en") for _ in range(10)]
    private_redis.stop()  # the outage
    monkeypatch.setenv("CELERY_BROKER_URL", private_redis.url)
    ids = []
    for customer in customers:  # committed one by one, as requests do; publishing fails
        with transaction.atomic():
            ids += [
                n.pk
                for n in notice_enqueue(
                    event="test.hello",
                    recipient=customer.user,
                    context={"name": "A", "text": "t"},
                    actor=actor,
                    channels=("email",),
                )
            ]
    assert Notice.objects.filter(pk__in=ids, published_at__isnull=True).count() == len(ids)
    # One of them is a retry parked in the database until 20 s from now.
    parked = ids[0]
    Notice.objects.filter(pk=parked).update(
        attempts=1, next_attempt_at=timezone.now() + timedelta(seconds=20)
    )
    time.sleep(5)  # the worker and its beat notice the outage

    private_redis.start()
    back = time.monotonic()
    deadline = back + RECOVERY_TARGET + 30  # wait a little past the target to report it
    sent = 0
    while time.monotonic() < deadline:
        sent = Notice.objects.filter(pk__in=ids, status="sent").count()
        if sent == len(ids):
            break
        time.sleep(0.25)
    elapsed = time.monotonic() - back
    print(
        f"broker outage: {sent}/{len(ids)} notices sent {elapsed:.1f} s after the broker's return"
    )
    assert sent == len(ids), worker_with_beat.read_text()[-3000:]
    assert elapsed <= RECOVERY_TARGET, f"{elapsed:.1f} s"
    parked_row = Notice.objects.get(pk=parked)
    assert parked_row.sent_at >= parked_row.next_attempt_at - timedelta(seconds=5)
    # Each message once at the sink.
    message_ids = [m["Message-ID"] for m in smtp.messages]
    assert sorted(message_ids) == sorted(f"<notice-{i}@example.com>" for i in ids)
