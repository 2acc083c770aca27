"""The notice outbox: one row per (event, object, recipient, channel), written in the same
transaction as the change that causes it, sent by Celery, kept as the proof of delivery."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .enums import Channel, NoticeStatus


class Notice(models.Model):
    event = models.CharField(_("event"), max_length=64)
    # Null only for staff alerts sent to settings.STAFF_ALERT_EMAIL when a role has nobody.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.PROTECT,
        related_name="notices",
        null=True,
        blank=True,
    )
    # Explicit address (staff fallback email); otherwise the recipient's address is read at
    # send time (email from the user, phone decrypted from the customer profile).
    address = models.CharField(_("address"), max_length=254, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8)
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=255, unique=True)
    subject = models.CharField(_("subject"), max_length=255)
    # For sensitive notices (one-time codes) `body` holds a redacted text for display and the
    # sendable text lives encrypted in `sealed_body` until it is sent, then it is cleared.
    body = models.TextField(_("body"))
    sealed_body = models.TextField(blank=True, editable=False)
    sensitive = models.BooleanField(_("sensitive"), default=False)
    status = models.CharField(
        _("status"), max_length=8, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # When the broker accepted the task for the current attempt; null until then (and again
    # whenever the row goes back to pending). The sweep publishes null rows at once.
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    # A notice still unsent at this time is not sent (status `expired`, hooks.on_expired).
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("sending since"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The sealed body never enters the history tables: it is cleared after sending and must
    # not survive there.
    history = HistoricalRecords(excluded_fields=["sealed_body"])

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        permissions = [("resend_notice", _("Can resend a failed notice"))]  # and confirm unknown
        indexes = [
            # The sweeper: pending rows whose time has come.
            models.Index(
                fields=["next_attempt_at"],
                name="notice_pending_due_idx",
                condition=Q(status="pending"),
            ),
            # The sweeper: pending rows never published (broker down at commit, parked retry).
            models.Index(
                fields=["next_attempt_at"],
                name="notice_unpublished_idx",
                condition=Q(status="pending", published_at__isnull=True),
            ),
            # The sweeper: pending rows that expire.
            models.Index(
                fields=["expires_at"],
                name="notice_expiring_idx",
                condition=Q(status="pending", expires_at__isnull=False),
            ),
            # The sweeper: rows stuck in `sending` (worker lost mid-task).
            models.Index(
                fields=["claimed_at"],
                name="notice_sending_idx",
                condition=Q(status="sending"),
            ),
            # The customer's inbox, newest first.
            models.Index(fields=["recipient", "channel", "-created_at"], name="notice_inbox_idx"),
            # Admin: newest first, filtered by status / channel; search by event (prefix).
            models.Index(fields=["-created_at"], name="notice_created_idx"),
            models.Index(fields=["status", "-created_at"], name="notice_status_idx"),
            models.Index(fields=["event", "-created_at"], name="notice_event_idx"),
            models.Index(
                fields=["event"],
                name="notice_event_prefix_idx",
                opclasses=["varchar_pattern_ops"],
            ),
            models.Index(fields=["address"], name="notice_address_idx", condition=~Q(address="")),
            # notice_is_delivered(event, obj)
            models.Index(fields=["content_type", "object_id", "event"], name="notice_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient_id or self.address} [{self.channel}]"
