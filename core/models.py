"""Security logs (not domain data: append-only, no history needed). The tables keep the names they
had when these models lived in the backoffice app."""

from __future__ import annotations

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StepUpVerification(models.Model):
    """A one-time code entered by a staff member: sensitive actions need one in the last 15 min."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="stepup_verifications"
    )
    verified_at = models.DateTimeField(default=timezone.now)
    session_key = models.CharField(max_length=64, blank=True)
    purpose = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "backoffice_stepupverification"
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]
        verbose_name = _("step-up verification")
        verbose_name_plural = _("step-up verifications")
        indexes = [models.Index(fields=["user", "-verified_at"], name="stepup_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.verified_at:%Y-%m-%d %H:%M}"


# Staff second factors with their secrets encrypted or hashed (core/otp_models.py).
from .otp_models import BackupCode, BackupCodeDevice, StaffTOTPDevice  # noqa: E402, F401


class PiiAccessLog(models.Model):
    """Each time a staff member sees unmasked personal data."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=100)  # "customer:<id>"
    fields = models.CharField(max_length=200)
    at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        db_table = "backoffice_piiaccesslog"
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        indexes = [models.Index(fields=["user", "-at"], name="pii_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.subject} @ {self.at:%Y-%m-%d %H:%M}"


class ActivityEntry(models.Model):
    """One line of the activity trail (PRODUCT.md "Oversight for managers"): every service write,
    sign-in, failed sign-in, step-up and unmasked view. Masked values only, so key rotation never
    touches it. Append-only in the database (a pgtrigger protection, see core/append_only.py);
    chained by AuditSeal rows (core/seals.py).

    `xact` is the writing transaction's id (PostgreSQL `txid_current()`): the sealer covers only
    transactions older than every one still running, so a row can never appear below a seal.
    """

    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80, blank=True)  # "<app_label>.<model>"
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # {field: [before, after]}, masked
    reason = models.TextField(blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    xact = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activity trail")
        indexes = [
            models.Index(fields=["actor", "-at", "-id"], name="activity_actor_idx"),
            models.Index(fields=["object_type", "object_id", "-id"], name="activity_object_idx"),
            models.Index(fields=["action", "-at", "-id"], name="activity_action_idx"),
            models.Index(fields=["-at", "-id"], name="activity_at_idx"),
            models.Index(fields=["xact", "id"], name="activity_xact_idx"),
        ]
        triggers = [
            # The writing transaction's id, for the sealer (PostgreSQL only, like all triggers).
            pgtrigger.Trigger(
                name="activity_xact",
                operation=pgtrigger.Insert,
                when=pgtrigger.Before,
                func="NEW.xact := txid_current(); RETURN NEW;",
            ),
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action}"


class AuditSeal(models.Model):
    """A link of the seal chain over the activity trail. The trail is read in (xact, id) order;
    a seal covers the rows after the previous seal's (last_xact, last_entry_id) up to its own,
    all of transactions that had finished when it was made, and hashes them chained to the
    previous seal. `row_digests` holds (id, 16-byte SHA-256 prefix) per row so that
    `verify_audit` can name the row that was altered, removed or inserted."""

    sealed_at = models.DateTimeField(default=timezone.now)
    last_xact = models.BigIntegerField()
    last_entry_id = models.BigIntegerField()
    row_count = models.IntegerField()
    row_digests = models.BinaryField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]
        verbose_name = _("audit seal")
        verbose_name_plural = _("audit seals")

    def __str__(self) -> str:
        return f"seal {self.pk} {self.hash[:12]}"


class IdempotentRequest(models.Model):
    """An API POST sent with an `Idempotency-Key` and the answer it got (CONTRACT.md; see
    core/idempotency.py): the same key from the same user within 24 hours answers this again and
    does nothing more. Not domain data but stored answers: no history. The row is written in the
    same transaction as the POST's own writes, so it exists exactly when they do."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=64)
    # SHA-256 of the method, path, content type and body: the same key with another request is
    # refused, never answered with the first one's result.
    fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_headers = models.JSONField(default=dict)
    response_body = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotent_request_user_key")
        ]
        verbose_name = _("idempotent API request")
        verbose_name_plural = _("idempotent API requests")

    def __str__(self) -> str:
        return f"{self.user_id} {self.key} -> {self.status_code}"
