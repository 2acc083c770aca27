"""Security logs (not domain data: append-only, no history needed). The tables keep the names they
had when these models lived in the backoffice app."""

from __future__ import annotations

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
        verbose_name = _("step-up verification")
        verbose_name_plural = _("step-up verifications")
        indexes = [models.Index(fields=["user", "-verified_at"], name="stepup_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.verified_at:%Y-%m-%d %H:%M}"


class PiiAccessLog(models.Model):
    """Each time a staff member sees unmasked personal data."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=100)  # "customer:<id>"
    fields = models.CharField(max_length=200)
    at = models.DateTimeField(default=timezone.now)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        db_table = "backoffice_piiaccesslog"
        verbose_name = _("personal-data access")
        verbose_name_plural = _("personal-data accesses")
        indexes = [models.Index(fields=["user", "-at"], name="pii_user_time_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.subject} @ {self.at:%Y-%m-%d %H:%M}"
