"""A real Celery worker on a real broker (Redis, TEST_REDIS_URL) sends to a real SMTP server
(aiosmtpd). Slow: each test starts its own worker process."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notices.models import Notice
from notices.services import notice_enqueue, notices_publish, notices_sweep
from tests.factories import CustomerFactory, StaffFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.delay = 0.0  # seconds before answering DATA (a slow provider)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_worker(transactional_db, redis_url, smtp, tmp_path, broker):
    """Start `celery -A backoffice worker` against the test database, the test broker and the
    SMTP sink; killed at the end of the test."""
    processes = []

    def start(**extra_env: str) -> subprocess.Popen:
        log = tmp_path / f"worker{len(processes)}.log"
        env = {
            **os.environ,
            "CELERY_BROKER_URL": redis_url,
            "DATABASE_URL": _database_url(),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            "VAR_DIR": str(tmp_path / "var"),  # SMS files land in VAR_DIR/sms
            "CONN_MAX_AGE": "0",
            **extra_env,
        }
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "backoffice",
                "worker",
                "--pool=solo",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        processes.append((proc, log))
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"worker did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        return proc

    yield start
    for proc, _log in processes:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _wait_for(predicate, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def _enqueue(user, actor, **kw):
    with transaction.atomic():
        return notice_enqueue(
            event="test.hello",
            recipient=user,
            context={"name": "Ann", "text": "one"},
            actor=actor,
            channels=("portal", "email", "sms"),
            **kw,
        )


def test_worker_delivers_email_and_sms_in_the_recipient_language(start_worker, smtp, tmp_path):
    actor = UserFactory(username="system:tests")
    en = CustomerFactory(preferred_language="en")
    zh = CustomerFactory(preferred_language="zh-hans")
    start_worker()
    notices = _enqueue(en.user, actor) + _enqueue(zh.user, actor)
    external = [n for n in notices if n.channel != "portal"]
    _wait_for(
        lambda: Notice.objects.filter(pk__in=[n.pk for n in external], status="sent").count() == 4,
        what="4 notices sent",
    )
    subjects = {m["To"]: m["Subject"] for m in smtp.messages}
    assert subjects == {en.user.email: "Hello Ann", zh.user.email: "你好 Ann"}
    for n in external:
        n.refresh_from_db()
        assert n.provider_message_id and n.sent_at and n.attempts == 1
    assert {m["Message-ID"] for m in smtp.messages} == {
        n.provider_message_id for n in external if n.channel == "email"
    }
    assert len(list((tmp_path / "var" / "sms").glob("*.json"))) == 2

    # The same tasks delivered again (a redelivery, a duplicate publish): nothing is resent.
    assert notices_publish([n.pk for n in external]) == 4
    time.sleep(3)
    assert len(smtp.messages) == 2
    assert len(list((tmp_path / "var" / "sms").glob("*.json"))) == 2


def test_broker_down_at_commit_then_the_sweeper_delivers(
    start_worker, smtp, monkeypatch, redis_url, broker
):
    actor = UserFactory(username="system:tests")
    customer = CustomerFactory(preferred_language="en")
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    notices = _enqueue(customer.user, actor)  # the commit succeeds although publishing fails
    external = [n.pk for n in notices if n.channel != "portal"]
    assert Notice.objects.filter(pk__in=external, status="pending").count() == 2
    assert broker.llen("celery") == 0

    assert Notice.objects.filter(pk__in=external, published_at__isnull=True).count() == 2

    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)  # the broker is back
    start_worker()
    result = notices_sweep()  # no grace for rows never published
    assert result["published"] == 2 and result["unpublished"] == 2
    _wait_for(
        lambda: Notice.objects.filter(pk__in=external, status="sent").count() == 2,
        what="swept notices sent",
    )
    assert [m["To"] for m in smtp.messages] == [customer.user.email]


def test_worker_retries_a_failing_backend_then_fails_and_alerts_staff(start_worker, smtp):
    from backoffice.roles import roles_sync

    roles_sync()
    manager = StaffFactory(role="manager", email="manager@example.com")
    actor = UserFactory(username="system:tests")
    customer = CustomerFactory(preferred_language="en")
    start_worker(
        SMS_BACKEND="tests.notices.test_send.BrokenSms",
        NOTICES_MAX_ATTEMPTS="3",
        NOTICES_RETRY_BASE_SECONDS="1",
        NOTICES_RETRY_MAX_SECONDS="2",
    )
    with transaction.atomic():
        (sms,) = notice_enqueue(
            event="test.hello",
            recipient=customer.user,
            context={"name": "A", "text": "t"},
            actor=actor,
            channels=("sms",),
        )
    _wait_for(
        lambda: Notice.objects.filter(pk=sms.pk, status="failed").exists(),
        what="the notice to fail",
    )
    sms.refresh_from_db()
    assert sms.attempts == 3 and "gateway down" in sms.last_error
    alert = _wait_for(
        lambda: Notice.objects.filter(event="staff.notice_failed", status="sent").first(),
        what="the staff alert to be sent",
    )
    assert alert.recipient_id == manager.pk
    assert [m["To"] for m in smtp.messages] == ["manager@example.com"]
    assert str(sms.pk) in smtp.messages[0]["Subject"]


def test_worker_killed_mid_send_is_not_sent_again(
    start_worker, smtp, manager_email="m@example.com"
):
    """The worker dies after handing the email to the server but before recording it: the
    redelivered task finds the row `sending` and sends nothing; after the lease the sweeper
    marks it `unknown` (not failed) and alerts staff once."""
    from backoffice.roles import roles_sync

    roles_sync()
    StaffFactory(role="manager", email=manager_email)
    actor = UserFactory(username="system:tests")
    customer = CustomerFactory(preferred_language="en")
    smtp.delay = 30
    worker = start_worker()
    with transaction.atomic():
        (notice,) = notice_enqueue(
            event="test.hello",
            recipient=customer.user,
            context={"name": "A", "text": "t"},
            actor=actor,
            channels=("email",),
        )
    _wait_for(lambda: len(smtp.messages) == 1, what="the email to reach the server")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    notice.refresh_from_db()
    assert notice.status == "sending", list(
        notice.history.values_list("history_date", "status", "history_change_reason")
    ) + [time.time()]

    smtp.delay = 0
    start_worker()
    assert notices_publish([notice.pk]) == 1  # the redelivery
    time.sleep(3)
    notice.refresh_from_db()
    assert notice.status == "sending" and len(smtp.messages) == 1

    result = notices_sweep(
        now=timezone.now() + settings.NOTICES_SENDING_LEASE + timedelta(seconds=1)
    )
    assert result["stale_unknown"] == 1
    notice.refresh_from_db()
    assert notice.status == "unknown" and "outcome is unknown" in notice.last_error
    _wait_for(
        lambda: Notice.objects.filter(event="staff.notice_unknown", status="sent").exists(),
        what="the staff alert",
    )
    assert [m["To"] for m in smtp.messages] == [customer.user.email, manager_email]
    assert notices_sweep()["stale_unknown"] == 0  # alerted once
    assert notices_publish([notice.pk]) == 1  # a stray redelivery sends nothing
    time.sleep(2)
    assert [m["Message-ID"] for m in smtp.messages].count(f"<notice-{notice.pk}@example.com>") == 1
    assert not Notice.objects.filter(event="staff.notice_failed").exists()
