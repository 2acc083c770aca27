"""Publishing the send tasks for notices the outbox holds, and recording that it happened.

The tasks are published by name over the project's Celery app, so this module never imports
`notices.tasks` (which imports the services): the outbox does not need the task's code to ask a
worker to run it. One id goes as `notices.send`, several as `notices.send_batch` messages of up
to NOTICES_SEND_BATCH ids each.

`Notice.published_at` records the publish: set when the task is handed to the broker (written
with the row itself when the row is published on commit, so the common path costs no extra
write) and cleared again for every id the broker refused. The sweep publishes at once every
pending row whose `published_at` is null, and gives a published row NOTICES_SWEEP_GRACE to be
picked up before it publishes it again. Nothing here raises.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.pools import producers

from ..enums import NoticeStatus
from ..models import Notice

logger = logging.getLogger(__name__)

# The names under which notices/tasks.py registers its tasks.
NOTICE_SEND_TASK = "notices.send"
NOTICE_SEND_BATCH_TASK = "notices.send_batch"


def batch_size() -> int:
    return max(int(getattr(settings, "NOTICES_SEND_BATCH", 50)), 1)


def _mark_published(notice_ids: Sequence[int], *, published: bool) -> None:
    """Set (or clear) `published_at` of the pending ones among `notice_ids`; never raises.
    Transport bookkeeping, like the broker's own queue: no history or trail row."""
    if not notice_ids:
        return
    try:
        Notice.objects.filter(pk__in=list(notice_ids), status=NoticeStatus.PENDING).update(
            published_at=timezone.now() if published else None
        )
    except Exception:  # the database is down: the sweep sorts it out later
        logger.exception("could not record the publish of notices %s", list(notice_ids)[:20])


def notices_publish(notice_ids: Sequence[int], *, marked: bool = False) -> int:
    """Publish send tasks for `notice_ids` over one broker connection (batches of
    NOTICES_SEND_BATCH ids) and record it on the rows; never raises. A broker that cannot be
    reached is logged and the rows it refused go back to "never published" (`published_at`
    null), which the next sweep publishes at once. `marked`: the rows already carry
    `published_at` (set with the insert). Returns how many ids were published."""
    ids = list(dict.fromkeys(notice_ids))
    if not ids:
        return 0
    if not marked:
        _mark_published(ids, published=True)  # before the worker can see the task
    app = current_app  # the project app (backoffice/celery.py), set as current once loaded
    size = batch_size()
    published = 0
    try:
        # Fail fast when the broker is down (no reconnect loop inside a request's commit);
        # producers (and their connections) are pooled per broker URL by kombu.
        connection = app.connection_for_write(transport_options={"max_retries": 0})
        with producers[connection].acquire(block=True, timeout=5) as producer:
            for start in range(0, len(ids), size):
                chunk = ids[start : start + size]
                if len(chunk) == 1:
                    app.send_task(
                        NOTICE_SEND_TASK, args=(chunk[0],), producer=producer, retry=False
                    )
                else:
                    app.send_task(
                        NOTICE_SEND_BATCH_TASK, args=(chunk,), producer=producer, retry=False
                    )
                published += len(chunk)
    except Exception:  # the broker is down: the sweeper will publish them
        logger.exception(
            "could not publish notices %s; the next sweep publishes them", ids[published:][:20]
        )
        _mark_published(ids[published:], published=False)
    return published


def notice_mark_requeued(notice_id: int) -> None:
    """A retry put back on the broker with a countdown (notices/tasks.py): it is published."""
    _mark_published([notice_id], published=True)


def publish_on_commit(notices: list[Notice], *, marked: bool = False) -> None:
    """Publish the pending ones among `notices` once the caller's transaction commits."""
    ids = [n.pk for n in notices if n.status == NoticeStatus.PENDING]
    if ids:
        transaction.on_commit(partial(notices_publish, ids, marked=marked))
