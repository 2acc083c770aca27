"""Staff second factors whose secrets are not stored in plain text (imported by core.models).

- `StaffTOTPDevice`: django-otp's TOTP device with its seed in an `EncryptedTextField` (the
  project's Fernet keys, FIELD_ENCRYPTION_KEYS; `manage.py rotate_field_keys` re-encrypts it
  like any personal data). django-otp's own `otp_totp.TOTPDevice` keeps the seed as plain hex in
  `otp_totp_totpdevice.key`; migration core.0004 moved every row here and emptied that table.
  The verification, drift and replay logic is django-otp's own (the methods are borrowed from
  its TOTPDevice, not copied), so only the storage differs.
- `BackupCodeDevice` / `BackupCode`: backup codes kept as keyed hashes (HMAC-SHA256 under
  SECRET_KEY, or a SECRET_KEY_FALLBACKS key after a rotation), each usable once (`used_at`
  set under a row lock). django-otp's `otp_static` stores the codes themselves.

Both are ordinary django-otp devices: `devices_for_user`, `OTPMiddleware`, `django_otp.login`
and `user.is_verified()` find them by their persistent id (`core.stafftotpdevice/<id>`).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_totp.models import TOTPDevice as _LibraryTOTPDevice
from django_otp.util import random_hex

from .crypto import EncryptedTextField

BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
BACKUP_CODE_LENGTH = 10
_BACKUP_SALT = "core.otp_models.BackupCode"


def default_totp_key() -> str:
    """20 random bytes, hex (django-otp's default seed)."""
    return random_hex(20)


class StaffTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator whose hex seed is encrypted at rest."""

    key = EncryptedTextField(default=default_totp_key)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = _("authenticator")
        verbose_name_plural = _("authenticators")

    # django-otp's implementation, unchanged: it reads only the fields above.
    bin_key = _LibraryTOTPDevice.bin_key
    verify_token = _LibraryTOTPDevice.verify_token
    config_url = _LibraryTOTPDevice.config_url
    _read_str_from_settings = _LibraryTOTPDevice._read_str_from_settings

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)


def backup_code_new() -> str:
    return "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _i in range(BACKUP_CODE_LENGTH))


def _normalized(code: str) -> str:
    return "".join((code or "").split()).replace("-", "").lower()


def backup_code_hash(code: str, *, secret: str | None = None) -> str:
    """The stored form of a backup code: HMAC-SHA256 keyed by SECRET_KEY (or `secret`)."""
    return salted_hmac(
        _BACKUP_SALT, _normalized(code), secret=secret or settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()


def _candidate_hashes(code: str) -> list[str]:
    secrets_in_use = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [backup_code_hash(code, secret=secret) for secret in secrets_in_use]


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A staff member's set of one-time backup codes (hashes only)."""

    class Meta(Device.Meta):
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def get_throttle_factor(self) -> int:
        return getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1)

    @transaction.atomic
    def verify_token(self, token: str) -> bool:
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        code = _normalized(token)
        match = None
        if code:
            hashes = _candidate_hashes(code)
            # Locked, so two requests with the same code cannot both use it.
            for row in (
                BackupCode.objects.select_for_update()
                .filter(device=self, used_at__isnull=True, code_hash__in=hashes)
                .order_by("pk")
            ):
                if any(constant_time_compare(row.code_hash, h) for h in hashes):
                    match = row
                    break
        if match is None:
            self.throttle_increment()
            return False
        match.used_at = timezone.now()
        match.save(update_fields=["used_at"])
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    def codes_issue(self, count: int) -> list[str]:
        """Fresh codes (returned once, to be shown once); only their hashes are stored."""
        codes = [backup_code_new() for _i in range(count)]
        BackupCode.objects.bulk_create(
            [BackupCode(device=self, code_hash=backup_code_hash(code)) for code in codes]
        )
        return codes

    @property
    def codes_left(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("backup code")
        verbose_name_plural = _("backup codes")

    def __str__(self) -> str:
        return f"backup code {self.pk} of device {self.device_id}"
