"""Every write to the notice outbox, split by step:

- `enqueue.py`: `notice_enqueue` / `notice_enqueue_staff` write the rows in the caller's
  transaction (at most once per key); `notice_is_delivered` says whether one reached its reader.
- `publish.py`: `notices_publish` publishes the `notices.send` task by name, on commit. If the
  broker is down nothing is lost: the rows stay `pending` and the sweep publishes them again.
- `send.py`: `notice_send` (called by the task) claims, delivers and records one attempt, at
  most once per row; retries with backoff; a failure alerts the managers.
- `resend.py`: staff put a failed notice back in the queue.
- `sweep.py`: `notices_sweep` publishes what is due and fails rows whose worker was lost.

Import from here: `from notices.services import notice_enqueue`.
"""

from .enqueue import notice_enqueue, notice_enqueue_staff, notice_is_delivered
from .publish import NOTICE_SEND_TASK, notices_publish
from .resend import notice_resend
from .send import STAFF_FAILED_EVENT, SendOutcome, Undeliverable, notice_send, retry_delay
from .sweep import notices_sweep

__all__ = [
    "NOTICE_SEND_TASK",
    "STAFF_FAILED_EVENT",
    "SendOutcome",
    "Undeliverable",
    "notice_enqueue",
    "notice_enqueue_staff",
    "notice_is_delivered",
    "notice_resend",
    "notice_send",
    "notices_publish",
    "notices_sweep",
    "retry_delay",
]
