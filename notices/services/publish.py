"""Publishing the `notices.send` task for notices the outbox holds.

The task is published by name over the project's Celery app, so this module never imports
`notices.tasks` (which imports the services): the outbox does not need the task's code to ask a
worker to run it. Nothing here raises: a broker that cannot be reached leaves the rows pending
for `notices_sweep`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from celery import current_app
from django.db import transaction
from kombu.pools import producers

from ..enums import NoticeStatus
from ..models import Notice

logger = logging.getLogger(__name__)

# The name under which notices/tasks.py registers its task.
NOTICE_SEND_TASK = "notices.send"


def notices_publish(notice_ids: Sequence[int]) -> int:
    """Publish one send task per notice over one broker connection; never raises. A broker
    that cannot be reached is logged and the rows stay pending for the sweeper. Returns how
    many were published."""
    app = current_app  # the project app (backoffice/celery.py), set as current once loaded
    published = 0
    try:
        # Fail fast when the broker is down (no reconnect loop inside a request's commit);
        # producers (and their connections) are pooled per broker URL by kombu.
        connection = app.connection_for_write(transport_options={"max_retries": 0})
        with producers[connection].acquire(block=True, timeout=5) as producer:
            for notice_id in notice_ids:
                app.send_task(NOTICE_SEND_TASK, args=(notice_id,), producer=producer, retry=False)
                published += 1
    except Exception:  # the broker is down: the sweeper will publish them again
        logger.exception(
            "could not publish notices %s; they stay pending for the sweeper",
            list(notice_ids[published:])[:20],
        )
    return published


def publish_on_commit(notices: list[Notice]) -> None:
    """Publish the pending ones among `notices` once the caller's transaction commits."""
    ids = [n.pk for n in notices if n.status == NoticeStatus.PENDING]
    if ids:
        transaction.on_commit(partial(notices_publish, ids))
