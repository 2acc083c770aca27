"""Reads of the notice outbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.contenttypes.models import ContentType
from django.db.models import Min, Model, QuerySet

from .enums import EXTERNAL_CHANNELS, Channel, NoticeStatus
from .models import Notice

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User


def notices_for_customer(user: User) -> QuerySet[Notice]:
    """The customer's portal inbox: their portal notices, newest first (never one-time codes)."""
    return Notice.objects.filter(recipient=user, channel=Channel.PORTAL, sensitive=False).order_by(
        "-created_at", "-pk"
    )


def notice_delivered_at(
    *, event: str, obj: Model, recipient: User | None = None
) -> datetime | None:
    """When the customer was told: the earliest recorded delivery of `event` about `obj` on any
    channel (the portal inbox counts when written; `failed` or `unknown` rows never count). The
    windows counted from a notice (review, appeal) start here (PRODUCT.md "Delivery")."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=False)  # as object_ref
    qs = Notice.objects.filter(
        event=event,
        content_type=ct,
        object_id=str(obj.pk),
        status=NoticeStatus.SENT,
        sent_at__isnull=False,
    )
    if recipient is not None:
        qs = qs.filter(recipient=recipient)
    return qs.aggregate(first=Min("sent_at"))["first"]


def notice_outcome_blocks(*, obj: Model, event: str) -> bool:
    """True while a notice of `event` about `obj` is `unknown` and no other external channel
    (email, SMS) delivered that event: a case whose decision notice may not have arrived is not
    closed until staff confirm the delivery (`notice_confirm_delivered`) or resend it and it is
    sent (PRODUCT.md "Complaints": `unknown` blocks closing)."""
    ct = ContentType.objects.get_for_model(obj, for_concrete_model=False)  # as object_ref
    rows = Notice.objects.filter(
        event=event, content_type=ct, object_id=str(obj.pk), channel__in=list(EXTERNAL_CHANNELS)
    )
    if not rows.filter(status=NoticeStatus.UNKNOWN).exists():
        return False
    return not rows.filter(status=NoticeStatus.SENT).exists()
