from __future__ import annotations

import pytest

from tests.factories import CustomerFactory, StaffFactory


@pytest.fixture
def customer(db):
    c = CustomerFactory(preferred_language="en")
    return c


@pytest.fixture
def zh_customer(db):
    return CustomerFactory(preferred_language="zh-hans")


@pytest.fixture
def manager(db):
    from backoffice.roles import roles_sync

    roles_sync()
    return StaffFactory(role="manager", email="boss@example.com")


@pytest.fixture(autouse=True)
def test_events(settings, temp_event):
    """Two customer events for these tests, with templates under tests/notices/templates."""
    from pathlib import Path

    folder = Path(__file__).parent / "templates"
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], folder]}
    ]
    temp_event("test.hello")
    temp_event("test.code", channels=("portal", "sms", "email"))


@pytest.fixture
def temp_event():
    """Declare an event for one test (the registry is a cached dict)."""
    from notices.events import events_registry

    added = []

    def declare(name: str, channels=("portal", "email", "sms")) -> str:
        events_registry()[name] = {"channels": tuple(channels), "app": "tests"}
        added.append(name)
        return name

    yield declare
    for name in added:
        events_registry().pop(name, None)


@pytest.fixture
def broker(redis_url, monkeypatch):
    """The Celery app publishes to a real Redis (TEST_REDIS_URL) for this test (Celery reads
    CELERY_BROKER_URL from the environment first); the queue is emptied before and after."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    yield client
    client.flushdb()


def queued_messages(client) -> list[tuple[str, list[int]]]:
    """(task, notice ids) of the send messages waiting in the default queue, oldest first."""
    import base64
    import json

    messages = []
    for raw in reversed(client.lrange("celery", 0, -1)):
        message = json.loads(raw)
        task = message["headers"]["task"]
        assert task in ("notices.send", "notices.send_batch"), task
        (arg,) = json.loads(base64.b64decode(message["body"]))[0]
        messages.append((task, arg if isinstance(arg, list) else [arg]))
    return messages


def queued_notice_ids(client) -> list[int]:
    """The notice ids of the send messages (one id or a batch) waiting in the default queue."""
    return sorted(i for _task, ids in queued_messages(client) for i in ids)
