"""Statuses and channels of the notice outbox."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NoticeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal inbox")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


DEFAULT_CHANNELS: tuple[str, ...] = (Channel.PORTAL, Channel.EMAIL, Channel.SMS)
# Channels that leave the building: they are sent by the worker and prove delivery.
EXTERNAL_CHANNELS: frozenset[str] = frozenset({Channel.EMAIL, Channel.SMS})

# from-state -> states a notice may move to
NOTICE_TRANSITIONS: dict[str, set[str]] = {
    NoticeStatus.PENDING: {NoticeStatus.SENDING},
    NoticeStatus.SENDING: {NoticeStatus.SENT, NoticeStatus.PENDING, NoticeStatus.FAILED},
    NoticeStatus.FAILED: {NoticeStatus.PENDING},  # staff resend
    NoticeStatus.SENT: set(),
}
