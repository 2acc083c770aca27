"""Sending notices: claim, deliver, record the attempt; retries with backoff; failure, unknown
outcome and expiry, each with what staff or the owning app are told.

Sending is at most once per row: a row is claimed (pending -> sending) in a committed
transaction before anyone talks to the provider, and only a `pending` row is ever claimed.

- `notice_send(notice_id=)`: one notice (the `notices.send` task).
- `notices_send_batch(notice_ids=)`: many (the `notices.send_batch` task): one set-based claim,
  each message over the worker's pooled SMTP connection, the deliveries recorded set-based.
- A provider error before the message was handed over is retried (backoff, then `failed` and
  a staff alert). A message handed over whose acceptance cannot be known (the connection dropped
  after DATA, a timeout after submit; or the worker died after the claim, found by the sweep
  after the lease) becomes `unknown`: never counted as delivered, never resent without staff
  confirming the risk of a duplicate, one staff alert per notice.
- A notice still unsent at its `expires_at` becomes `expired` and `hooks.on_expired[event]`
  lets the app that enqueued it react (a one-time code is never delivered late).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core import crypto
from core.audit import save_with_history, system_actor
from core.roles import MANAGER

from ..backends import OutcomeUnknown
from ..backends.sms import sms_backend
from ..backends.smtp import email_send, smtp_executor
from ..enums import Channel, NoticeStatus
from ..hooks import on_expired
from ..models import Notice
from .bulk import history_and_trail
from .enqueue import customer_of, notice_enqueue_staff

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User

logger = logging.getLogger(__name__)

STAFF_FAILED_EVENT = "staff.notice_failed"
STAFF_UNKNOWN_EVENT = "staff.notice_unknown"
# Deliveries of a batch are recorded every this many sends (a worker that dies mid-batch
# leaves at most this many sent-but-unrecorded rows, which the sweep marks `unknown`).
RECORD_EVERY = 20


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter after the `attempt`-th failure: about 1 min, 3, 9, 27,
    80 min, 4 h, 12 h (factor ~3 from NOTICES_RETRY_BASE to NOTICES_RETRY_MAX), ±20 %."""
    base = settings.NOTICES_RETRY_BASE.total_seconds()
    cap = settings.NOTICES_RETRY_MAX.total_seconds()
    steps = max(settings.NOTICES_MAX_ATTEMPTS - 2, 1)
    factor = (cap / base) ** (1 / steps)
    seconds = min(cap, base * factor ** max(attempt - 1, 0))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


@dataclass(frozen=True)
class SendOutcome:
    status: str  # "sent", "retry", "failed", "unknown", "expired" or "skipped:<why>"
    retry_at: datetime | None = None


class Undeliverable(Exception):
    """No address any more: retrying cannot help."""


def message_id_of(notice: Notice) -> str:
    """The Message-ID of a notice's email: stable per notice, so that a receiving system (and
    staff checking the provider's log) can tell a duplicate."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
    return f"<notice-{notice.pk}@{domain}>"


def _sendable_body(notice: Notice) -> str:
    if notice.sensitive:
        if not notice.sealed_body:
            raise Undeliverable("the sealed body of this one-time code is gone")
        return crypto.decrypt(notice.sealed_body)
    return notice.body


def _deliver(notice: Notice) -> str:
    """Hand the notice to its provider; returns the provider message id. Raises Undeliverable
    (permanent), OutcomeUnknown (handed over, answer lost) or any other error (retried)."""
    body = _sendable_body(notice)
    if notice.channel == Channel.EMAIL:
        to = notice.address or (notice.recipient.email if notice.recipient else "")
        if not to:
            raise Undeliverable("the recipient has no email address")
        message_id = message_id_of(notice)
        email_send(
            EmailMessage(
                subject=notice.subject,
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[to],
                headers={"Message-ID": message_id},
            )
        )
        return message_id
    if notice.channel == Channel.SMS:
        customer = customer_of(notice.recipient) if notice.recipient else None
        if customer is None or not customer.phone:
            raise Undeliverable("the recipient has no phone number")
        return sms_backend().send(to=customer.phone, body=body, reference=f"notice-{notice.pk}")
    raise Undeliverable(f"channel {notice.channel} is not sent by the worker")


@dataclass(frozen=True)
class _Attempt:
    notice_id: int
    provider_id: str = ""
    error: str = ""
    permanent: bool = False
    unknown: bool = False


def _attempt(notice: Notice) -> _Attempt:
    """Talk to the provider (outside any transaction: no lock is held over the network)."""
    try:
        return _Attempt(notice.pk, provider_id=_deliver(notice))
    except Undeliverable as exc:
        return _Attempt(notice.pk, error=str(exc), permanent=True)
    except OutcomeUnknown as exc:
        logger.error("notice %s attempt %s: outcome unknown: %s", notice.pk, notice.attempts, exc)
        return _Attempt(notice.pk, error=f"Outcome unknown: {exc}"[:2000], unknown=True)
    except Exception as exc:  # any other provider error is retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("notice %s attempt %s failed: %s", notice.pk, notice.attempts, error)
        return _Attempt(notice.pk, error=error)


def _is_expired(notice: Notice, now: datetime) -> bool:
    return notice.expires_at is not None and notice.expires_at <= now


# --- One notice ---------------------------------------------------------------------------


@transaction.atomic
def _notice_claim(*, notice_id: int, actor: User) -> Notice | SendOutcome:
    """Claim a pending, due notice (pending -> sending, one more attempt) and commit; or the
    outcome that says why it is left alone."""
    now = timezone.now()
    notice = (
        Notice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk=notice_id)
        .first()
    )
    if notice is None:
        return SendOutcome("skipped:locked_or_missing")
    if notice.status != NoticeStatus.PENDING:
        return SendOutcome(f"skipped:{notice.status}")
    if _is_expired(notice, now):
        notice_expire(notice, actor=actor)
        return SendOutcome("expired")
    if notice.next_attempt_at > now + timedelta(seconds=5):
        return SendOutcome("skipped:not_due", retry_at=notice.next_attempt_at)
    notice.status = NoticeStatus.SENDING
    notice.attempts += 1
    notice.claimed_at = now
    save_with_history(
        notice,
        actor=actor,
        reason=f"sending, attempt {notice.attempts}",
        update_fields=["status", "attempts", "claimed_at"],
    )
    return notice


def notice_send(*, notice_id: int, actor: User | None = None) -> SendOutcome:
    """Send one notice if it is pending and due. Idempotent: a notice that is being sent, sent,
    failed, unknown or expired is left alone, so a task that runs twice sends once."""
    actor = actor or system_actor("notices")
    claimed = _notice_claim(notice_id=notice_id, actor=actor)
    if isinstance(claimed, SendOutcome):
        return claimed
    return _notice_record_attempt(_attempt(claimed), actor=actor)


@transaction.atomic
def _notice_record_attempt(attempt: _Attempt, *, actor: User) -> SendOutcome:
    notice = Notice.objects.select_for_update().get(pk=attempt.notice_id)
    late_success = notice.status == NoticeStatus.UNKNOWN and not attempt.error
    if notice.status != NoticeStatus.SENDING and not late_success:
        # The sweeper gave up on it meanwhile (lease), or staff acted on it.
        logger.error("notice %s was %s when its attempt ended", notice.pk, notice.status)
        return SendOutcome(f"skipped:{notice.status}")
    now = timezone.now()
    fields = ["status", "claimed_at", "last_error", "sealed_body"]
    notice.claimed_at = None
    if not attempt.error:
        notice.status = NoticeStatus.SENT
        notice.sent_at = now
        notice.provider_message_id = attempt.provider_id[:255]
        notice.last_error = ""
        notice.sealed_body = ""
        fields += ["sent_at", "provider_message_id"]
        reason = "sent (the provider answered after the lease)" if late_success else "sent"
        save_with_history(notice, actor=actor, reason=reason, update_fields=fields)
        return SendOutcome("sent")
    notice.last_error = attempt.error
    if attempt.unknown:
        notice_mark_unknown(notice, actor=actor, reason="outcome unknown after the provider call")
        return SendOutcome("unknown")
    if attempt.permanent or notice.attempts >= settings.NOTICES_MAX_ATTEMPTS:
        notice_fail(notice, actor=actor, reason=f"failed after {notice.attempts} attempts")
        return SendOutcome("failed")
    notice.status = NoticeStatus.PENDING
    notice.next_attempt_at = now + retry_delay(notice.attempts)
    notice.published_at = None  # parked: the sweep (or the task's countdown) publishes it
    fields += ["next_attempt_at", "published_at"]
    save_with_history(notice, actor=actor, reason="retry scheduled", update_fields=fields)
    return SendOutcome("retry", retry_at=notice.next_attempt_at)


# --- Many notices ---------------------------------------------------------------------------


@dataclass
class BatchResult:
    sent: int = 0
    retry: int = 0
    failed: int = 0
    unknown: int = 0
    expired: int = 0
    skipped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@transaction.atomic
def _notices_claim_batch(
    *, notice_ids: Sequence[int], actor: User, result: BatchResult
) -> list[Notice]:
    """Claim the pending, due ones among `notice_ids` set-based (one lock query, one update,
    the history and trail rows set-based) and commit; expire the expired ones."""
    now = timezone.now()
    rows = list(
        Notice.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("recipient")
        .filter(pk__in=list(notice_ids), status=NoticeStatus.PENDING)
        .order_by("pk")
    )
    claimed = []
    expired = 0
    for notice in rows:
        if _is_expired(notice, now):
            notice_expire(notice, actor=actor)
            expired += 1
        elif notice.next_attempt_at <= now + timedelta(seconds=5):
            notice.status = NoticeStatus.SENDING
            notice.attempts += 1
            notice.claimed_at = now
            notice._change_reason = f"sending, attempt {notice.attempts}"  # noqa: SLF001
            claimed.append(notice)
    result.expired += expired
    result.skipped += len(set(notice_ids)) - len(claimed) - expired
    if claimed:
        Notice.objects.filter(pk__in=[n.pk for n in claimed]).update(
            status=NoticeStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
        )
        history_and_trail(claimed, actor=actor, reason="sending")
    return claimed


@transaction.atomic
def _notices_record_sent(attempts: Sequence[_Attempt], *, actor: User) -> int:
    """Record the successful attempts set-based; returns how many were recorded."""
    provider_ids = {a.notice_id: a.provider_id for a in attempts}
    locked = (
        Notice.objects.select_for_update()
        .filter(pk__in=list(provider_ids), status__in=[NoticeStatus.SENDING, NoticeStatus.UNKNOWN])
        .order_by("pk")
    )
    # PostgreSQL writes the rows and their history in SQL: only the ids are read.
    rows = list(locked.only("pk") if connection.vendor == "postgresql" else locked)
    now = timezone.now()
    for notice in rows:
        notice.status = NoticeStatus.SENT
        notice.sent_at = now
        notice.claimed_at = None
        notice.provider_message_id = provider_ids[notice.pk][:255]
        notice.last_error = ""
        notice.sealed_body = ""
    if rows and connection.vendor != "postgresql":  # SQLite (`make run`): Django's CASE form
        Notice.objects.bulk_update(
            rows,
            ["status", "sent_at", "claimed_at", "provider_message_id", "last_error", "sealed_body"],
        )
        history_and_trail(rows, actor=actor, reason="sent")
    elif rows:
        with connection.cursor() as cursor:  # one statement, whatever the batch size
            cursor.execute(
                f"""UPDATE {Notice._meta.db_table} AS n
                    SET status = %s, sent_at = %s, claimed_at = NULL, last_error = '',
                        sealed_body = '', provider_message_id = v.pid
                    FROM unnest(%s::bigint[], %s::text[]) AS v(id, pid)
                    WHERE n.id = v.id""",  # noqa: S608 - the table name comes from _meta
                [
                    NoticeStatus.SENT,
                    now,
                    [n.pk for n in rows],
                    [n.provider_message_id for n in rows],
                ],
            )
        history_and_trail(rows, actor=actor, reason="sent")
    missing = set(provider_ids) - {n.pk for n in rows}
    if missing:
        logger.error("notices %s were no longer sending when sent", sorted(missing)[:20])
    return len(rows)


def _attempts(claimed: Sequence[Notice]) -> Iterator[_Attempt]:
    """Each claimed notice's one attempt, in order. Emails go out on the worker's SMTP threads
    (several pooled connections at once) when it has them; anything else here, one by one."""
    executor = smtp_executor() if len(claimed) > 1 else None
    if executor is None:
        yield from map(_attempt, claimed)
        return
    futures = {
        index: executor.submit(_attempt, notice)
        for index, notice in enumerate(claimed)
        if notice.channel == Channel.EMAIL
    }
    try:
        for index, notice in enumerate(claimed):
            future = futures.get(index)
            yield future.result() if future is not None else _attempt(notice)
    finally:  # the caller stopped early (an error recording): start no further sends
        for future in futures.values():
            future.cancel()


def notices_send_batch(*, notice_ids: Sequence[int], actor: User | None = None) -> dict[str, int]:
    """Send many notices (a `notices.send_batch` task): claimed together, each delivered over
    the pooled connection, successes recorded together every RECORD_EVERY sends, any other
    outcome recorded on its own (retry, failed, unknown). At most once per row, as
    `notice_send`. Returns the counts by outcome."""
    actor = actor or system_actor("notices")
    result = BatchResult()
    claimed = _notices_claim_batch(notice_ids=notice_ids, actor=actor, result=result)
    done: list[_Attempt] = []
    for attempt in _attempts(claimed):
        if attempt.error:
            status = _notice_record_attempt(attempt, actor=actor).status
            setattr(result, status, getattr(result, status, 0) + 1)
            continue
        done.append(attempt)
        if len(done) >= RECORD_EVERY:
            result.sent += _notices_record_sent(done, actor=actor)
            done = []
    if done:
        result.sent += _notices_record_sent(done, actor=actor)
    return result.as_dict()


# --- Terminal states and their alerts ------------------------------------------------------


def _alert(notice: Notice, *, event: str, actor: User) -> None:
    """One staff alert about `notice` (at most once per notice and event: the alert's
    idempotency key holds the notice)."""
    if notice.event.startswith("staff."):
        # An alert about a failed alert would loop; the log is the last resort.
        logger.error("staff notice %s is %s: %s", notice.pk, notice.status, notice.last_error)
        return
    recipient = notice.recipient.username if notice.recipient_id else notice.address
    notice_enqueue_staff(
        event=event,
        context={
            "notice_id": notice.pk,
            "event": notice.event,
            "channel": notice.channel,
            "recipient": recipient,
            "attempts": notice.attempts,
            "error": notice.last_error,
            "provider_message_id": notice.provider_message_id
            or (message_id_of(notice) if notice.channel == Channel.EMAIL else ""),
        },
        actor=actor,
        role=MANAGER,
        obj=notice,
    )


def notice_fail(notice: Notice, *, actor: User, reason: str) -> None:
    """Mark a locked notice failed and alert the managers (inside the caller's transaction)."""
    notice.status = NoticeStatus.FAILED
    notice.claimed_at = None
    notice.sealed_body = ""  # a one-time code that never arrived is not kept
    save_with_history(
        notice,
        actor=actor,
        reason=reason,
        update_fields=["status", "claimed_at", "sealed_body", "last_error"],
    )
    _alert(notice, event=STAFF_FAILED_EVENT, actor=actor)


def notice_mark_unknown(notice: Notice, *, actor: User, reason: str) -> None:
    """Mark a locked notice `unknown` (handed to the provider, acceptance not known) and alert
    the managers once (inside the caller's transaction)."""
    notice.status = NoticeStatus.UNKNOWN
    notice.claimed_at = None
    notice.sealed_body = ""  # a one-time code is never resent: the customer asks again
    save_with_history(
        notice,
        actor=actor,
        reason=reason,
        update_fields=["status", "claimed_at", "sealed_body", "last_error"],
    )
    _alert(notice, event=STAFF_UNKNOWN_EVENT, actor=actor)


def notice_expire(notice: Notice, *, actor: User) -> None:
    """Mark a locked, unsent notice `expired` (its `expires_at` passed) and run the owning
    app's `hooks.on_expired[event]` in the same transaction."""
    notice.status = NoticeStatus.EXPIRED
    notice.claimed_at = None
    notice.sealed_body = ""
    notice.last_error = (
        f"Not sent: it expired at {notice.expires_at.isoformat()} before it could be sent."
    )
    save_with_history(
        notice,
        actor=actor,
        reason="expired unsent",
        update_fields=["status", "claimed_at", "sealed_body", "last_error"],
    )
    for hook in on_expired.get(notice.event, ()):
        hook(notice, actor=actor)
