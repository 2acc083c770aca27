"""Personal data at rest: MultiFernet encryption with rotatable keys, an HMAC blind index for
exact-match search, and masking for display.

FIELD_ENCRYPTION_KEYS lists Fernet keys newest first: new values are encrypted with the first,
any listed key decrypts. `manage.py rotate_field_keys` re-encrypts every stored value (base and
historical tables) under the newest key, after which old keys can be dropped.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.db import models


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS is empty")
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _reset_cache(*, setting: str, **kwargs) -> None:
    if setting in ("FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY"):
        _fernet.cache_clear()


setting_changed.connect(_reset_cache)


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:  # a key was dropped before rotation finished
        raise RuntimeError("stored value cannot be decrypted with FIELD_ENCRYPTION_KEYS") from exc


def rotate_token(token: str) -> str:
    """Re-encrypt one stored token under the newest key."""
    return _fernet().rotate(token.encode("ascii")).decode("ascii")


def normalize(value: str) -> str:
    """Canonical form for the blind index: NFKC, no spaces or dashes, upper case (ID 'x')."""
    value = unicodedata.normalize("NFKC", value or "")
    return "".join(ch for ch in value if ch not in " -\t").upper()


def blind_index(value: str) -> str:
    """Keyed hash of the normalized value: equal inputs match, the index reveals nothing."""
    key = settings.BLIND_INDEX_KEY.encode("utf-8")
    return hmac.new(key, normalize(value).encode("utf-8"), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """138****5678"""
    digits = normalize(phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_national_id(national_id: str) -> str:
    """110105********1234 -> first 3 and last 4 shown."""
    value = normalize(national_id)
    if len(value) < 8:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


class EncryptedTextField(models.TextField):
    """A text column that holds a Fernet token; Python code sees the plaintext.

    Not searchable (use a blind-index column beside it) and not orderable.
    """

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def to_python(self, value):
        return value
