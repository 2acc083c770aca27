"""Every write to the notice outbox, split by step:

- `enqueue.py`: `notice_enqueue` / `notice_enqueue_many` / `notice_enqueue_staff` write the rows
  in the caller's transaction (at most once per key; many recipients in one INSERT with their
  history and trail set-based; optional `expires_at`); `notice_is_delivered` says whether one
  reached its reader.
- `publish.py`: `notices_publish` publishes the send tasks by name (batches of ids), on
  commit, and records it (`published_at`). If the broker is down nothing is lost: the rows
  stay `pending`, unpublished, and the next sweep publishes them at once.
- `send.py`: `notice_send` / `notices_send_batch` (called by the tasks) claim, deliver and
  record attempts, at most once per row; retries with backoff; failure, unknown outcome and
  expiry (with `hooks.on_expired`), and the staff alerts.
- `resend.py`: staff resend a failed notice, resend an `unknown` one after accepting the risk
  of a duplicate, or confirm that an `unknown` one was delivered.
- `sweep.py`: `notices_sweep` publishes what was never published or was lost, expires what
  expired, and marks `unknown` the rows whose worker was lost.

Import from here: `from notices.services import notice_enqueue`.
"""

from .enqueue import notice_enqueue, notice_enqueue_many, notice_enqueue_staff, notice_is_delivered
from .publish import (
    NOTICE_SEND_BATCH_TASK,
    NOTICE_SEND_TASK,
    notice_mark_requeued,
    notices_publish,
)
from .resend import notice_confirm_delivered, notice_resend
from .send import (
    STAFF_FAILED_EVENT,
    STAFF_UNKNOWN_EVENT,
    SendOutcome,
    Undeliverable,
    notice_send,
    notices_send_batch,
    retry_delay,
)
from .sweep import notices_sweep

__all__ = [
    "NOTICE_SEND_BATCH_TASK",
    "NOTICE_SEND_TASK",
    "STAFF_FAILED_EVENT",
    "STAFF_UNKNOWN_EVENT",
    "SendOutcome",
    "Undeliverable",
    "notice_confirm_delivered",
    "notice_enqueue",
    "notice_enqueue_many",
    "notice_enqueue_staff",
    "notice_is_delivered",
    "notice_mark_requeued",
    "notice_resend",
    "notice_send",
    "notices_publish",
    "notices_send_batch",
    "notices_sweep",
    "retry_delay",
]
