"""Sending one notice: claim, deliver, record the attempt; retries with backoff; failure and the
staff alert.

Sending is at most once per row: `notice_send` claims a row (pending -> sending) in a committed
transaction before it talks to the provider, and only a `pending` row is ever claimed. A worker
that dies after the claim leaves the row in `sending`; the sweeper (`sweep.py`) marks it failed
after a lease (delivery outcome unknown) and alerts staff, who may resend it deliberately.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from core import crypto
from core.audit import save_with_history, system_actor
from core.roles import MANAGER

from ..backends.sms import sms_backend
from ..enums import Channel, NoticeStatus
from ..models import Notice
from .enqueue import customer_of, notice_enqueue_staff

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User

logger = logging.getLogger(__name__)

STAFF_FAILED_EVENT = "staff.notice_failed"


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
    status: str  # "sent", "retry", "failed", or "skipped:<why>"
    retry_at: datetime | None = None


class Undeliverable(Exception):
    """No address any more: retrying cannot help."""


def _sendable_body(notice: Notice) -> str:
    if notice.sensitive:
        if not notice.sealed_body:
            raise Undeliverable("the sealed body of this one-time code is gone")
        return crypto.decrypt(notice.sealed_body)
    return notice.body


def _deliver(notice: Notice) -> str:
    """Hand the notice to its provider; returns the provider message id."""
    body = _sendable_body(notice)
    if notice.channel == Channel.EMAIL:
        to = notice.address or (notice.recipient.email if notice.recipient else "")
        if not to:
            raise Undeliverable("the recipient has no email address")
        domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"
        # Stable per notice, so that a receiving system can drop a duplicate.
        message_id = f"<notice-{notice.pk}@{domain}>"
        EmailMessage(
            subject=notice.subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            headers={"Message-ID": message_id},
        ).send(fail_silently=False)
        return message_id
    if notice.channel == Channel.SMS:
        customer = customer_of(notice.recipient) if notice.recipient else None
        if customer is None or not customer.phone:
            raise Undeliverable("the recipient has no phone number")
        return sms_backend().send(to=customer.phone, body=body, reference=f"notice-{notice.pk}")
    raise Undeliverable(f"channel {notice.channel} is not sent by the worker")


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
    """Send one notice if it is pending and due. Idempotent: a notice that is being sent, sent
    or failed is left alone, so a task that runs twice sends once."""
    actor = actor or system_actor("notices")
    claimed = _notice_claim(notice_id=notice_id, actor=actor)
    if isinstance(claimed, SendOutcome):
        return claimed
    notice = claimed
    # Talk to the provider outside any transaction: no lock is held over the network.
    error = ""
    provider_id = ""
    permanent = False
    try:
        provider_id = _deliver(notice)
    except Undeliverable as exc:
        error, permanent = str(exc), True
    except Exception as exc:  # any provider error is retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
        logger.warning("notice %s attempt %s failed: %s", notice.pk, notice.attempts, error)
    return _notice_record_attempt(
        notice_id=notice.pk, actor=actor, provider_id=provider_id, error=error, permanent=permanent
    )


@transaction.atomic
def _notice_record_attempt(
    *, notice_id: int, actor: User, provider_id: str, error: str, permanent: bool
) -> SendOutcome:
    notice = Notice.objects.select_for_update().get(pk=notice_id)
    if notice.status != NoticeStatus.SENDING:  # the sweeper gave up on it meanwhile
        logger.error("notice %s was %s when its attempt ended", notice.pk, notice.status)
        return SendOutcome(f"skipped:{notice.status}")
    now = timezone.now()
    fields = ["status", "claimed_at", "last_error", "sealed_body"]
    notice.claimed_at = None
    if not error:
        notice.status = NoticeStatus.SENT
        notice.sent_at = now
        notice.provider_message_id = provider_id[:255]
        notice.last_error = ""
        notice.sealed_body = ""
        fields += ["sent_at", "provider_message_id"]
        save_with_history(notice, actor=actor, reason="sent", update_fields=fields)
        return SendOutcome("sent")
    notice.last_error = error
    if permanent or notice.attempts >= settings.NOTICES_MAX_ATTEMPTS:
        notice_fail(notice, actor=actor, reason=f"failed after {notice.attempts} attempts")
        return SendOutcome("failed")
    notice.status = NoticeStatus.PENDING
    notice.next_attempt_at = now + retry_delay(notice.attempts)
    fields.append("next_attempt_at")
    save_with_history(notice, actor=actor, reason="retry scheduled", update_fields=fields)
    return SendOutcome("retry", retry_at=notice.next_attempt_at)


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
    if notice.event.startswith("staff."):
        # An alert about a failed alert would loop; the log is the last resort.
        logger.error("staff notice %s failed: %s", notice.pk, notice.last_error)
        return
    recipient = notice.recipient.username if notice.recipient_id else notice.address
    notice_enqueue_staff(
        event=STAFF_FAILED_EVENT,
        context={
            "notice_id": notice.pk,
            "event": notice.event,
            "channel": notice.channel,
            "recipient": recipient,
            "attempts": notice.attempts,
            "error": notice.last_error,
        },
        actor=actor,
        role=MANAGER,
        obj=notice,
    )
