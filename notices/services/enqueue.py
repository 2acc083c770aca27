"""Writing notices into the outbox: `notice_enqueue` (a customer or a staff user, one row per
channel) and `notice_enqueue_staff` (email to a role or one staff member).

Domain services call these inside their own transaction; the rows commit with the change that
caused them and their sending is published on commit (`publish.py`). Enqueueing is at most once
per (event, object, recipient, channel, key).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.errors import ApplicationError
from core.roles import users_in_role

from ..enums import EXTERNAL_CHANNELS, Channel, NoticeStatus
from ..events import event_validate
from ..models import Notice
from ..render import notice_render, redacted_context
from .bulk import history_and_trail, notices_insert
from .publish import publish_on_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User

logger = logging.getLogger(__name__)


def customer_of(user: User):
    """The user's accounts.Customer (reverse one-to-one; notices imports nothing above it)."""
    try:
        return user.customer
    except ObjectDoesNotExist:
        return None


def _language_of(user: User | None) -> str:
    customer = customer_of(user) if user is not None and not user.is_staff else None
    if customer is not None and customer.preferred_language:
        return customer.preferred_language
    return settings.LANGUAGE_CODE


def object_ref(obj: models.Model | None) -> tuple[ContentType | None, str]:
    """The (content type, object id) a notice about `obj` records."""
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


def _notice_row(
    *,
    event: str,
    channel: str,
    language: str,
    ct: ContentType | None,
    object_id: str,
    who: str,
    key: str,
    now: datetime,
    **fields: Any,
) -> Notice:
    """An unsaved pending notice, due now, with its idempotency key."""
    return Notice(
        event=event,
        channel=channel,
        language=language,
        content_type=ct,
        object_id=object_id,
        idempotency_key=_idempotency_key(
            event=event, ct=ct, object_id=object_id, who=who, channel=channel, key=key
        ),
        next_attempt_at=now,
        created_at=now,
        **fields,
    )


def _insert_once(notices: list[Notice], *, actor: User, reason: str) -> list[Notice]:
    """Insert the notices whose idempotency key is new (one INSERT, their history and trail
    rows set-based); return, in order, the inserted rows and the rows that already existed (at
    most once per key)."""
    keys = [n.idempotency_key for n in notices]
    existing = {n.idempotency_key: n for n in Notice.objects.filter(idempotency_key__in=keys)}
    fresh = [n for n in notices if n.idempotency_key not in existing]
    if fresh:
        try:
            with transaction.atomic():  # a savepoint: a concurrent insert must not break us
                notices_insert(fresh)
        except IntegrityError:
            # Lost a race with a concurrent enqueue of the same keys: take theirs.
            existing = {
                n.idempotency_key: n for n in Notice.objects.filter(idempotency_key__in=keys)
            }
            fresh = []
        else:
            history_and_trail(fresh, actor=actor, reason=reason, created=True)
    created = {n.idempotency_key: n for n in fresh}
    return [created.get(key) or existing[key] for key in keys]


def _customer_channels(
    *, event: str, recipient: User, wanted: Sequence[str], sensitive: bool
) -> list[str]:
    """The wanted channels the recipient has an address for (the portal inbox only for
    customers, and never for a sensitive notice)."""
    unknown = [c for c in wanted if c not in Channel.values]
    if unknown:
        raise ApplicationError(
            f"Unknown notice channels {unknown}.", code="notice_bad_channel", status=500
        )
    customer = None if recipient.is_staff else customer_of(recipient)
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
    return targets


def _rendered(
    *, event: str, language: str, context: dict[str, Any], sensitive: bool
) -> tuple[str, str, str]:
    """(subject, stored body, sealed body). A sensitive notice stores a redacted body for
    display and its sendable body encrypted."""
    subject, body = notice_render(event=event, language=language, context=context)
    if not sensitive:
        return subject, body, ""
    sealed = crypto.encrypt(body)
    _subject, body = notice_render(
        event=event, language=language, context=redacted_context(context)
    )
    return subject, body, sealed


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
    expires_at: datetime | None = None,
) -> list[Notice]:
    """Write the notices of `event` for `recipient` (one per channel) in the caller's
    transaction and publish their sending on commit.

    `expires_at`: a notice still unsent then is not sent; it becomes `expired` (reason in
    `last_error`) and `notices.hooks.on_expired[event]` runs (a one-time code that would arrive
    too late; the owning app tells the customer to ask again).

    Rendered now, in the recipient's language. A channel without an address for the recipient
    is skipped; the portal inbox is always written for customers (status `sent` at once)
    except for sensitive notices (one-time codes), which go only by SMS or email and whose
    sendable body is stored encrypted. At most once per (event, object, recipient, channel,
    key): enqueueing again returns the existing rows.
    """
    rows = _customer_rows(
        event=event,
        recipient=recipient,
        context=context,
        obj=obj,
        channels=channels,
        sensitive=sensitive,
        key=key,
        expires_at=expires_at,
        now=timezone.now(),
    )
    return _insert_and_publish(rows, event=event, actor=actor)


def _insert_and_publish(rows: list[Notice], *, event: str, actor: User) -> list[Notice]:
    if not rows:
        return []
    result = _insert_once(rows, actor=actor, reason=f"enqueued: {event}")
    # The fresh external rows carry `published_at` from their insert (publish.py).
    publish_on_commit([n for n in result if n.channel in EXTERNAL_CHANNELS], marked=True)
    return result


def _customer_rows(
    *,
    event: str,
    recipient: User,
    context: dict[str, Any],
    obj: models.Model | None,
    channels: Sequence[str] | None,
    sensitive: bool,
    key: str,
    expires_at: datetime | None,
    now: datetime,
    ct_ref: tuple[ContentType | None, str] | None = None,
) -> list[Notice]:
    """The unsaved rows of `event` for one recipient (one per addressable channel)."""
    spec = event_validate(event)
    wanted = tuple(channels) if channels is not None else tuple(spec["channels"])
    targets = _customer_channels(
        event=event, recipient=recipient, wanted=wanted, sensitive=sensitive
    )
    if not targets:
        return []
    language = _language_of(recipient)
    subject, body, sealed = _rendered(
        event=event, language=language, context=context, sensitive=sensitive
    )
    ct, object_id = ct_ref if ct_ref is not None else object_ref(obj)
    rows = []
    for channel in targets:
        notice = _notice_row(
            event=event,
            channel=channel,
            language=language,
            ct=ct,
            object_id=object_id,
            who=f"u{recipient.pk}",
            key=key,
            now=now,
            recipient=recipient,
            subject=subject,
            body=body,
            sealed_body=sealed if channel in EXTERNAL_CHANNELS else "",
            sensitive=sensitive,
            expires_at=expires_at,
        )
        if channel == Channel.PORTAL:  # the inbox is the delivery: sent at once
            notice.status = NoticeStatus.SENT
            notice.sent_at = now
            notice.provider_message_id = "portal"
        else:
            notice.published_at = now  # published on commit; cleared if the broker refuses
        rows.append(notice)
    return rows


@transaction.atomic
def notice_enqueue_many(
    *,
    event: str,
    recipients: Sequence[tuple[User, dict[str, Any]]],
    actor: User,
    obj: models.Model | None = None,
    channels: Sequence[str] | None = None,
    key: str = "",
    expires_at: datetime | None = None,
    objects: Sequence[models.Model] | None = None,
) -> list[Notice]:
    """`notice_enqueue` for many recipients at once: `recipients` is a sequence of
    (user, context). One INSERT for all the rows, their history and trail rows set-based, one
    publish on commit (in batches). At most once per (event, object, recipient, channel, key),
    as `notice_enqueue`. Not for one-time codes (those go one at a time). `objects`: one object
    per recipient, each notice being about its own (a campaign's closures), instead of `obj`."""
    users = [user for user, _context in recipients]
    with contextlib.suppress(AttributeError, ValueError):  # read every customer in one query
        models.prefetch_related_objects(users, "customer")
    now = timezone.now()
    ct_ref = object_ref(obj)
    rows: list[Notice] = []
    for index, (user, context) in enumerate(recipients):
        if objects is not None:
            ct_ref = object_ref(objects[index])
        rows += _customer_rows(
            event=event,
            recipient=user,
            context=context,
            obj=obj,
            channels=channels,
            sensitive=False,
            key=key,
            expires_at=expires_at,
            now=now,
            ct_ref=ct_ref,
        )
    return _insert_and_publish(rows, event=event, actor=actor)


def _staff_targets(*, role: str | None, user: User | None) -> list[tuple[User | None, str]]:
    """(person, address) pairs: the role's active members with an email, or the one user;
    settings.STAFF_ALERT_EMAIL when that reaches nobody."""
    if user is not None:
        people = [user] if user.email and user.is_active else []
    else:
        people = list(users_in_role(role).exclude(email="").order_by("pk"))
    return [(p, "") for p in people] or [(None, settings.STAFF_ALERT_EMAIL)]


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
    if (role is None) == (user is None):
        raise ValueError("notice_enqueue_staff needs exactly one of role= or user=")
    event_validate(event)
    language = settings.LANGUAGE_CODE
    subject, body = notice_render(event=event, language=language, context=context)
    ct, object_id = object_ref(obj)
    now = timezone.now()
    result = []
    for person, address in _staff_targets(role=role, user=user):
        result.append(
            _notice_row(
                event=event,
                channel=Channel.EMAIL,
                language=language,
                ct=ct,
                object_id=object_id,
                who=f"u{person.pk}" if person is not None else f"a:{address}",
                key=key or (role or ""),
                now=now,
                recipient=person,
                address=address,
                subject=subject,
                body=body,
            )
        )
    for notice in result:
        notice.published_at = now  # published on commit; cleared if the broker refuses
    result = _insert_once(result, actor=actor, reason=f"enqueued: {event}")
    publish_on_commit(result, marked=True)
    return result


def notice_is_delivered(*, event: str, obj: models.Model, recipient: User | None = None) -> bool:
    """True once an external notice (email or SMS) of `event` about `obj` was sent."""
    ct, object_id = object_ref(obj)
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
