"""Issue 14 item 15: several nodes, for real. Two gunicorn nodes (DEBUG off, one port each), two
Celery workers and two beats on RabbitMQ (a vhost of the test's own), the cache on Redis
(CACHE_URL), one PostgreSQL (the test database), an SMTP sink:

- throttles are shared: a customer's requests count on both nodes together;
- lockouts are shared: locked out through node 1, refused on node 2 with the right password;
- one delivery per notice: N complaints filed across both nodes give exactly one email per email
  notice at the sink, and publishing every one of them again sends nothing twice;
- the beat is a singleton (backoffice/beat.py): of two beats one sends the schedule, the other
  stands by, and takes over when the first is killed.
"""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

import pytest
import requests
from django.db import connection

from notices.models import Notice
from tests.factories import CreditAccountFactory, CustomerFactory, UserFactory
from tests.hardening.stack import (
    ROOT,
    Gunicorn,
    database_url,
    free_port,
    production_env,
    stop_process,
)

# The timeout covers starting seven processes on a busy CI machine; the test itself takes ~40 s.
pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.timeout(600)]

PASSWORD = "test-pass-123"
USER_RATE = 20  # API_THROTTLE_USER per minute, for the run


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def rabbit_vhost():
    """A RabbitMQ vhost of this test's own on the machine's broker, deleted afterwards."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl not found: apt-get install rabbitmq-server")
    vhost = f"cd-test-{secrets.token_hex(4)}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


class _Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture
def smtp_sink():
    from aiosmtpd.controller import Controller

    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


def _celery(env: dict, log, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", *args, "--loglevel=INFO"],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def cluster(transactional_db, rabbit_vhost, smtp_sink, redis_url, tmp_path, monkeypatch):
    import redis

    from backoffice.roles import roles_sync

    redis.Redis.from_url(redis_url).flushdb()
    roles_sync()
    from django.conf import settings

    env = production_env(
        DATABASE_URL=database_url(connection.settings_dict),
        # The rows this process writes are read by the nodes: the same keys.
        FIELD_ENCRYPTION_KEYS=",".join(settings.FIELD_ENCRYPTION_KEYS),
        BLIND_INDEX_KEY=settings.BLIND_INDEX_KEY,
        CONN_MAX_AGE="0",
        CACHE_URL=redis_url,
        CELERY_BROKER_URL=rabbit_vhost,
        EMAIL_URL=f"smtp://127.0.0.1:{smtp_sink.port}",
        VAR_DIR=str(tmp_path / "var"),
        API_THROTTLE_USER=f"{USER_RATE}/min",
        API_THROTTLE_ANON="1000/min",
        AXES_FAILURE_LIMIT="5",
        NOTICES_SWEEP_SECONDS="2",
    )
    # This process publishes too (notices_publish below): to the same vhost.
    monkeypatch.setenv("CELERY_BROKER_URL", rabbit_vhost)
    processes: list[subprocess.Popen] = []
    nodes = []
    try:
        logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2", "beat1", "beat2")}
        for name in ("w1", "w2"):
            processes.append(
                _celery(
                    env,
                    logs[name],
                    "worker",
                    "--pool=solo",
                    "-n",
                    f"{name}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                )  # fmt: skip
            )
        beats = {}
        for name in ("beat1", "beat2"):
            beats[name] = _celery(env, logs[name], "beat", "-s", str(tmp_path / f"{name}-schedule"))
            processes.append(beats[name])
        nodes = [Gunicorn(env, tmp_path / f"node{i}.log", workers=1) for i in (1, 2)]
        for name in ("w1", "w2"):
            _wait_for(lambda name=name: "ready." in logs[name].read_text(), 90, f"{name} ready")
        yield nodes, beats, logs
    finally:
        for node in nodes:
            node.stop()
        for proc in processes:
            stop_process(proc)


def _token(node: Gunicorn, username: str) -> str:
    response = requests.post(
        f"{node.base}/api/v1/auth/token/",
        json={"username": username, "password": PASSWORD},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_two_nodes_share_limits_deliver_once_and_run_one_beat(cluster, smtp_sink, settings):
    from django.conf import global_settings

    from notices.services import notices_publish

    (node1, node2), beats, logs = cluster
    # Passwords the nodes can check (the suite's own fast MD5 hasher is not in their settings).
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    filer = CustomerFactory(user=UserFactory(username="filer"), preferred_language="en")
    account = CreditAccountFactory(customer=filer)
    CustomerFactory(user=UserFactory(username="reader"))
    CustomerFactory(user=UserFactory(username="victim"))

    # Throttles: one customer's requests through both nodes count together.
    token = _token(node1, "reader")
    headers = {"Authorization": f"Token {token}"}
    statuses = [
        requests.get(f"{node.base}/api/v1/accounts/", headers=headers, timeout=15).status_code
        for node in (node1, node2) * (USER_RATE // 2 + 2)
    ]
    assert statuses.count(200) == USER_RATE  # per-node counters would have let all through
    assert statuses.count(429) == len(statuses) - USER_RATE

    # Lockouts: five wrong passwords through node 1; the right one through node 2 is refused.
    for _ in range(5):
        wrong = requests.post(
            f"{node1.base}/api/v1/auth/token/",
            json={"username": "victim", "password": "wrong-password"},
            timeout=15,
        )
        assert wrong.status_code in (400, 429)
    locked = requests.post(
        f"{node2.base}/api/v1/auth/token/",
        json={"username": "victim", "password": PASSWORD},
        timeout=15,
    )
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "locked_out"

    # One delivery per notice: complaints filed through both nodes.
    filer_headers = {"Authorization": f"Token {_token(node2, 'filer')}"}
    filed = 8
    for i in range(filed):
        node = (node1, node2)[i % 2]
        response = requests.post(
            f"{node.base}/api/v1/complaints/",
            json={"category": "billing", "account": account.pk, "description": f"Fee twice ({i})"},
            headers=filer_headers,
            timeout=30,
        )
        assert response.status_code == 201, response.text
    emails = Notice.objects.filter(recipient=filer.user, channel="email")
    assert emails.count() >= filed
    _wait_for(
        lambda: emails.filter(status="sent").count() == emails.count(), 90, "every email sent"
    )
    expected = set(emails.values_list("provider_message_id", flat=True))
    assert len(expected) == emails.count()

    # Every one of them published again (a redelivery, a second sweeper): nothing is resent.
    notices_publish(list(emails.values_list("pk", flat=True)))
    time.sleep(5)
    to_filer = [m for m in smtp_sink.messages if m["To"] == filer.user.email]
    assert sorted(m["Message-ID"] for m in to_filer) == sorted(expected)
    workers_used = [name for name in ("w1", "w2") if "notices.send" in logs[name].read_text()]
    assert workers_used == ["w1", "w2"]  # both workers took part

    # The beat: one of the two sends the schedule (notices-sweep every 2 s), the other stands by.
    sending = _wait_for(
        lambda: [n for n in ("beat1", "beat2") if "Sending due task" in logs[n].read_text()],
        30,
        "a beat sending",
    )
    assert len(sending) == 1
    leader = sending[0]
    standby = "beat2" if leader == "beat1" else "beat1"
    time.sleep(5)
    assert "Sending due task" not in logs[standby].read_text()

    # The leader dies: the standby takes over.
    os.killpg(beats[leader].pid, signal.SIGKILL)
    beats[leader].wait()
    _wait_for(
        lambda: "Sending due task" in logs[standby].read_text(), 30, "the standby taking over"
    )
