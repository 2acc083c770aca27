"""Statuses and channels of the notice outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # Handed to the provider, but whether it was accepted cannot be known (the worker died
    # after the claim, the connection dropped after the message was submitted): never counts
    # as delivery, never resent without staff confirming the risk of a duplicate.
    UNKNOWN = "unknown", _("Outcome unknown")
    # Still unsent at its `expires_at` (a one-time code that would arrive too late): dropped.
    EXPIRED = "expired", _("Expired")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal inbox")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


DEFAULT_CHANNELS: tuple[str, ...] = (Channel.PORTAL, Channel.EMAIL, Channel.SMS)
# Channels that leave the building: they are sent by the worker and prove delivery.
EXTERNAL_CHANNELS: frozenset[str] = frozenset({Channel.EMAIL, Channel.SMS})

# from-state -> states a notice may move to
NOTICE_TRANSITIONS: dict[str, set[str]] = {
    NoticeStatus.PENDING: {NoticeStatus.SENDING, NoticeStatus.EXPIRED},
    NoticeStatus.SENDING: {
        NoticeStatus.SENT,
        NoticeStatus.PENDING,
        NoticeStatus.FAILED,
        NoticeStatus.UNKNOWN,
    },
    NoticeStatus.FAILED: {NoticeStatus.PENDING},  # staff resend
    # staff resend (after confirming the duplicate risk) or staff confirm the delivery
    NoticeStatus.UNKNOWN: {NoticeStatus.PENDING, NoticeStatus.SENT},
    NoticeStatus.SENT: set(),
    NoticeStatus.EXPIRED: set(),
}
