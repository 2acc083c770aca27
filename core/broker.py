"""Publishing tasks to the broker from a service: over kombu's producer pool for the broker URL
in force now (CELERY_BROKER_URL is read at each call, so a test or a worker that points it
elsewhere is followed), failing fast when the broker is down (no reconnect loop inside a
request's commit). Callers catch the error and leave the work for their sweep."""

from __future__ import annotations

from collections.abc import Iterable

from celery import current_app
from kombu.pools import producers


def tasks_publish(name: str, args_list: Iterable[tuple]) -> int:
    """Publish one task `name` per tuple of `args_list`; returns how many went out. Raises the
    broker's error on failure (after the ones already published)."""
    app = current_app  # the project app (backoffice/celery.py), set as current once loaded
    published = 0
    connection = app.connection_for_write(transport_options={"max_retries": 0})
    with producers[connection].acquire(block=True, timeout=5) as producer:
        for args in args_list:
            app.send_task(name, args=args, producer=producer, retry=False)
            published += 1
    return published
