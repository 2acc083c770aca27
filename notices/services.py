"""Every write to the notice outbox.

Domain services call `notice_enqueue` / `notice_enqueue_staff` inside their own transaction;
the rows commit with the change that caused them and the Celery task is published on commit.
If the broker is down at that moment nothing is lost: the rows stay `pending` and
`notices_sweep` publishes them again.

Sending is at most once per row: `notice_send` claims a row (pending -> sending) in a committed
transaction before it talks to the provider, and only a `pending` row is ever claimed. A worker
that dies after the claim leaves the row in `sending`; the sweeper marks it failed after a
lease (delivery outcome unknown) and alerts staff, who may resend it deliberately.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMessage
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.pools import producers

from core import crypto
from core.audit import save_with_history, system_actor
from core.errors import ApplicationError, Forbidden

from .backends.sms import sms_backend
from .enums import EXTERNAL_CHANNELS, Channel, NoticeStatus
from .events import event_validate
from .models import Notice
from .render import notice_render, redacted_context

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User

logger = logging.getLogger(__name__)

STAFF_FAILED_EVENT = "staff.notice_failed"


# --- enqueue ----------------------------------------------------------------------------------


def _customer_of(user: User):
    try:
        return user.customer
    except ObjectDoesNotExist:
        return None


def _language_of(user: User | None) -> str:
    customer = _customer_of(user) if user is not None and not user.is_staff else None
    if customer is not None and customer.preferred_language:
        return customer.preferred_language
    return settings.LANGUAGE_CODE


def _object_ref(obj: models.Model | None) -> tuple[ContentType | None, str]:
    if obj is None:
        return None, ""
    return ContentType.objects.get_for_model(obj, for_concrete_model=False), str(obj.pk)


def _idempotency_key(
    *, event: str, ct: ContentType | None, object_id: str, who: str, channel: str, key: str
) -> str:
    raw = f"{event}|{ct.pk if ct else '-'}:{object_id or '-'}|{who}|{channel}|{key}"
    if len(raw) > 255:
        raw = f"{event[:64]}|sha256:{hashlib.sha256(raw.encode()).hexdigest()}"
    return raw


def _publish_on_commit(notices: list[Notice]) -> None:
    ids = [n.pk for n in notices if n.status == NoticeStatus.PENDING]
    if ids:
        transaction.on_commit(partial(notices_publish, ids))


def notices_publish(notice_ids: Sequence[int]) -> int:
    """Publish one send task per notice over one broker connection; never raises. A broker
    that cannot be reached is logged and the rows stay pending for the sweeper. Returns how
    many were published."""
    from celery import current_app as app  # the project app (backoffice/celery.py) once loaded

    from .tasks import notice_send_task

    published = 0
    try:
        # Fail fast when the broker is down (no reconnect loop inside a request's commit);
        # producers (and their connections) are pooled per broker URL by kombu.
        connection = app.connection_for_write(transport_options={"max_retries": 0})
        with producers[connection].acquire(block=True, timeout=5) as producer:
            for notice_id in notice_ids:
                notice_send_task.apply_async((notice_id,), producer=producer, retry=False)
                published += 1
    except Exception:  # the broker is down: the sweeper will publish them again
        logger.exception(
            "could not publish notices %s; they stay pending for the sweeper",
            list(notice_ids[published:])[:20],
        )
    return published


def _insert_once(notices: list[Notice], *, actor: User, reason: str) -> list[Notice]:
    """Insert the notices whose idempotency key is new; return, in order, the inserted rows
    and the rows that already existed (at most once per key)."""
    keys = [n.idempotency_key for n in notices]
    existing = {n.idempotency_key: n for n in Notice.objects.filter(idempotency_key__in=keys)}
    fresh = [n for n in notices if n.idempotency_key not in existing]
    if fresh:
        try:
            with transaction.atomic():  # a savepoint: a concurrent insert must not break us
                Notice.objects.bulk_create(fresh)
        except IntegrityError:
            # Lost a race with a concurrent enqueue of the same keys: take theirs.
            existing = {
                n.idempotency_key: n for n in Notice.objects.filter(idempotency_key__in=keys)
            }
            fresh = []
        else:
            Notice.history.bulk_history_create(
                fresh, default_user=actor, default_change_reason=reason
            )
    created = {n.idempotency_key: n for n in fresh}
    return [created.get(key) or existing[key] for key in keys]


@transaction.atomic
def notice_enqueue(
    *,
    event: str,
    recipient: User,
    context: dict[str, Any],
    actor: User,
    obj: models.Model | None = None,
    channels: Sequence[str] | None = None,
    sensitive: bool = False,
    key: str = "",
) -> list[Notice]:
    """Write the notices of `event` for `recipient` (one per channel) in the caller's
    transaction and publish their sending on commit.

    Rendered now, in the recipient's language. A channel without an address for the recipient
    is skipped; the portal inbox is always written for customers (status `sent` at once)
    except for sensitive notices (one-time codes), which go only by SMS or email and whose
    sendable body is stored encrypted. At most once per (event, object, recipient, channel,
    key): enqueueing again returns the existing rows.
    """
    spec = event_validate(event)
    wanted = tuple(channels) if channels is not None else tuple(spec["channels"])
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        raise ApplicationError(
            f"Unknown notice channels {unknown}.", code="notice_bad_channel", status=500
        )
    customer = None if recipient.is_staff else _customer_of(recipient)
    addressable = {
        Channel.PORTAL: customer is not None and not sensitive,
        Channel.EMAIL: bool(recipient.email),
        Channel.SMS: customer is not None and bool(customer.phone),
    }
    targets = [c for c in wanted if addressable[Channel(c)]]
    if sensitive and not targets:
        # A one-time code that reaches nobody must not pass unnoticed.
        raise ApplicationError(
            _("We have no phone number or email address to send the code to."),
            code="notice_no_channel",
        )
    if not targets:
        logger.info("notice %s for user %s: no channel with an address", event, recipient.pk)
        return []

    language = _language_of(recipient)
    subject, body = notice_render(event=event, language=language, context=context)
    sealed = ""
    if sensitive:
        sealed = crypto.encrypt(body)
        _subject, body = notice_render(
            event=event, language=language, context=redacted_context(context)
        )
    ct, object_id = _object_ref(obj)
    now = timezone.now()
    result = []
    for channel in targets:
        notice = Notice(
            event=event,
            recipient=recipient,
            channel=channel,
            language=language,
            content_type=ct,
            object_id=object_id,
            idempotency_key=_idempotency_key(
                event=event,
                ct=ct,
                object_id=object_id,
                who=f"u{recipient.pk}",
                channel=channel,
                key=key,
            ),
            subject=subject,
            body=body,
            sealed_body=sealed if channel in EXTERNAL_CHANNELS else "",
            sensitive=sensitive,
            next_attempt_at=now,
            created_at=now,
        )
        if channel == Channel.PORTAL:
            notice.status = NoticeStatus.SENT
            notice.sent_at = now
            notice.provider_message_id = "portal"
        result.append(notice)
    result = _insert_once(result, actor=actor, reason=f"enqueued: {event}")
    _publish_on_commit([n for n in result if n.channel in EXTERNAL_CHANNELS])
    return result


@transaction.atomic
def notice_enqueue_staff(
    *,
    event: str,
    context: dict[str, Any],
    actor: User,
    role: str | None = None,
    user: User | None = None,
    obj: models.Model | None = None,
    key: str = "",
) -> list[Notice]:
    """Email `event` to every active member of `role` who has an email address, or to one
    staff `user`; to settings.STAFF_ALERT_EMAIL when that reaches nobody."""
    from core.roles import users_in_role

    if (role is None) == (user is None):
        raise ValueError("notice_enqueue_staff needs exactly one of role= or user=")
    event_validate(event)
    if user is not None:
        people = [user] if user.email and user.is_active else []
    else:
        people = list(users_in_role(role).exclude(email="").order_by("pk"))
    language = settings.LANGUAGE_CODE
    subject, body = notice_render(event=event, language=language, context=context)
    ct, object_id = _object_ref(obj)
    now = timezone.now()
    targets: list[tuple[User | None, str]] = [(p, "") for p in people] or [
        (None, settings.STAFF_ALERT_EMAIL)
    ]
    result = []
    for person, address in targets:
        who = f"u{person.pk}" if person is not None else f"a:{address}"
        notice = Notice(
            event=event,
            recipient=person,
            address=address,
            channel=Channel.EMAIL,
            language=language,
            content_type=ct,
            object_id=object_id,
            idempotency_key=_idempotency_key(
                event=event,
                ct=ct,
                object_id=object_id,
                who=who,
                channel=Channel.EMAIL,
                key=key or (role or ""),
            ),
            subject=subject,
            body=body,
            next_attempt_at=now,
            created_at=now,
        )
        result.append(notice)
    result = _insert_once(result, actor=actor, reason=f"enqueued: {event}")
    _publish_on_commit(result)
    return result


def notice_is_delivered(*, event: str, obj: models.Model, recipient: User | None = None) -> bool:
    """True once an external notice (email or SMS) of `event` about `obj` was sent."""
    ct, object_id = _object_ref(obj)
    qs = Notice.objects.filter(
        event=event,
        content_type=ct,
        object_id=object_id,
        channel__in=list(EXTERNAL_CHANNELS),
        status=NoticeStatus.SENT,
    )
    if recipient is not None:
        qs = qs.filter(recipient=recipient)
    return qs.exists()


# --- sending ----------------------------------------------------------------------------------


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
        customer = _customer_of(notice.recipient) if notice.recipient else None
        if customer is None or not customer.phone:
            raise Undeliverable("the recipient has no phone number")
        return sms_backend().send(to=customer.phone, body=body, reference=f"notice-{notice.pk}")
    raise Undeliverable(f"channel {notice.channel} is not sent by the worker")


def notice_send(*, notice_id: int, actor: User | None = None) -> SendOutcome:
    """Send one notice if it is pending and due. Idempotent: a notice that is being sent, sent
    or failed is left alone, so a task that runs twice sends once."""
    actor = actor or system_actor("notices")
    now = timezone.now()
    with transaction.atomic():
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
        _notice_fail(notice, actor=actor, reason=f"failed after {notice.attempts} attempts")
        return SendOutcome("failed")
    notice.status = NoticeStatus.PENDING
    notice.next_attempt_at = now + retry_delay(notice.attempts)
    fields.append("next_attempt_at")
    save_with_history(notice, actor=actor, reason="retry scheduled", update_fields=fields)
    return SendOutcome("retry", retry_at=notice.next_attempt_at)


def _notice_fail(notice: Notice, *, actor: User, reason: str) -> None:
    """Mark a locked notice failed and alert staff (inside the caller's transaction)."""
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
    from core.roles import MANAGER

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


@transaction.atomic
def notice_resend(*, notice_id: int, actor: User, reason: str) -> Notice:
    """Staff: put a failed notice back in the queue (attempts start again)."""
    if not actor.has_perm("notices.resend_notice"):
        raise Forbidden(_("You may not resend notices."))
    notice = Notice.objects.select_for_update().get(pk=notice_id)
    if notice.status != NoticeStatus.FAILED:
        raise ApplicationError(_("Only a failed notice can be resent."), code="notice_not_failed")
    if notice.sensitive:
        raise ApplicationError(
            _("A one-time code is not resent: the customer asks for a new one."),
            code="notice_sensitive",
        )
    notice.status = NoticeStatus.PENDING
    notice.attempts = 0
    notice.next_attempt_at = timezone.now()
    notice.last_error = ""
    save_with_history(
        notice,
        actor=actor,
        reason=reason or "resent by staff",
        update_fields=["status", "attempts", "next_attempt_at", "last_error"],
    )
    _publish_on_commit([notice])
    return notice


# --- sweeping ---------------------------------------------------------------------------------


def notices_sweep(*, now: datetime | None = None, limit: int | None = None) -> dict[str, int]:
    """Publish pending notices whose time has come (past a grace period, so that rows just
    published on commit are not published twice), and give up on rows stuck in `sending`
    past the lease (their worker died: at most once means we do not send again blindly)."""
    now = now or timezone.now()
    limit = limit or settings.NOTICES_SWEEP_BATCH
    actor = system_actor("notices-sweep")
    stale_before = now - settings.NOTICES_SENDING_LEASE
    stale = 0
    with transaction.atomic():
        rows = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(status=NoticeStatus.SENDING, claimed_at__lt=stale_before)
            .order_by("pk")[:limit]
        )
        for notice in rows:
            notice.last_error = (
                "The worker was lost while sending; the outcome is unknown, so the notice "
                "was not sent again automatically."
            )
            _notice_fail(notice, actor=actor, reason="sending lease expired")
            stale += 1
    due_ids = list(
        Notice.objects.filter(
            status=NoticeStatus.PENDING,
            next_attempt_at__lte=now - settings.NOTICES_SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    published = notices_publish(due_ids) if due_ids else 0
    return {"due": len(due_ids), "published": published, "stale_failed": stale}
