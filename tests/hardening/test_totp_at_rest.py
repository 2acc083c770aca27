"""Issue 14 item 5, second factors at rest: the TOTP seed is encrypted (FIELD_ENCRYPTION_KEYS,
rotated by rotate_field_keys), backup codes are keyed hashes used once, django-otp's plain-text
tables stay empty, and the migration moves rows left in them; sign-in, the enrollment QR code
and step-up still work."""

from __future__ import annotations

import base64
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice as LibraryTOTPDevice

from accounts.models import User
from accounts.staff import staff_totp_enroll_confirm, staff_totp_enroll_start
from core import crypto
from core.models import BackupCode, BackupCodeDevice, StaffTOTPDevice
from core.otp_models import backup_code_hash
from tests.admin.conftest import PASSWORD, login, totp_now
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _stored_key(device_pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM core_stafftotpdevice WHERE id = %s", [device_pk])
        return cursor.fetchone()[0]


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - fixed names
        return cursor.fetchone()[0]


def _code_for(hex_key: str) -> str:
    totp = TOTP(bytes.fromhex(hex_key), step=30, t0=0, digits=6)
    return f"{totp.token():06d}"


def test_create_staff_stores_an_encrypted_seed_that_still_signs_in():
    out = io.StringIO()
    call_command("create_staff", "li.na", "--role", "manager", "--password", PASSWORD, stdout=out)
    url = out.getvalue().strip()
    secret_b32 = parse_qs(urlparse(url).query)["secret"][0]
    seed_hex = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8)).hex()
    user = User.objects.get(username="li.na")
    device = StaffTOTPDevice.objects.get(user=user)

    stored = _stored_key(device.pk)
    assert seed_hex not in stored.lower() and secret_b32 not in stored.upper()
    assert stored.startswith("gAAAA")  # a Fernet token
    assert crypto.decrypt(stored) == seed_hex == device.key
    assert _count("otp_totp_totpdevice") == 0 and _count("otp_static_statictoken") == 0

    client = Client()
    code = _code_for(seed_hex)
    response = client.post(
        "/admin/login/",
        {"username": "li.na", "password": PASSWORD, "otp_token": code, "next": "/admin/"},
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # Every save (each verification moves last_t) writes a new ciphertext of the same seed.
    assert _stored_key(device.pk) != stored
    assert crypto.decrypt(_stored_key(device.pk)) == seed_hex


def test_enrollment_qr_secret_matches_the_encrypted_seed_and_codes_are_hashed():
    user = StaffFactory(role="agent", password="")
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    client.post("/admin/login/", {"username": user.username, "password": PASSWORD})
    page = client.get("/admin/enroll/").content.decode()
    assert "<svg" in page
    secret = re.search(r'class="otp-secret">([A-Z2-7]+)<', page).group(1)
    device = StaffTOTPDevice.objects.get(user=user, confirmed=False)
    seed_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    assert seed_hex not in _stored_key(device.pk).lower()

    done = client.post("/admin/enroll/", {"otp_token": _code_for(seed_hex)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.code_hash FROM core_backupcode c JOIN core_backupcodedevice d "
            "ON d.id = c.device_id WHERE d.user_id = %s",
            [user.pk],
        )
        stored = [row[0] for row in cursor.fetchall()]
    assert len(stored) == 10
    assert not any(code in value for code in codes for value in stored)
    assert sorted(stored) == sorted(backup_code_hash(code) for code in codes)
    assert _count("otp_static_statictoken") == 0


def test_a_backup_code_signs_in_once_even_typed_with_spaces(make_staff):
    user, _device = make_staff("reviewer")
    new = staff_totp_enroll_start(user=user)
    codes = staff_totp_enroll_confirm(user=user, device_id=new.pk, token=_code_for(new.key))
    assert codes is not None
    form = {"username": user.username, "password": PASSWORD, "next": "/admin/"}
    spaced = f" {codes[0][:5]} {codes[0][5:].upper()} "
    first = Client()
    assert first.post("/admin/login/", {**form, "otp_token": spaced}).status_code == 302
    assert first.get("/admin/").status_code == 200
    # A backup code is also a step-up code.
    assert first.post("/admin/stepup/", {"otp_token": codes[1]}).status_code == 302
    backup = BackupCodeDevice.objects.get(user=user)
    assert backup.codes_left == 8
    assert BackupCode.objects.filter(device=backup, used_at__isnull=False).count() == 2
    # Each once (a refused code counts toward the lockout and django-otp's throttle).
    assert first.post("/admin/stepup/", {"otp_token": codes[1]}).status_code == 200
    again = Client()
    assert again.post("/admin/login/", {**form, "otp_token": codes[0]}).status_code == 200
    assert again.get("/admin/").status_code == 302
    assert backup.codes_left == 8


def test_rotate_field_keys_re_encrypts_the_seed(make_staff, settings):
    user, device = make_staff("manager")
    seed_hex = device.key
    old_token = _stored_key(device.pk)
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_field_keys", "--no-progress", stdout=io.StringIO())
    rotated = _stored_key(device.pk)
    assert rotated != old_token
    assert Fernet(new_key.encode()).decrypt(rotated.encode()).decode() == seed_hex
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key dropped
    assert login(Client(), user, device).status_code == 302


def test_the_migration_moves_plain_rows_and_leaves_no_seed_behind(make_staff):
    """core.0004's data step, run again over rows written straight into django-otp's tables
    (as a database from before this change holds them)."""
    user, _device = make_staff("agent")
    StaffTOTPDevice.objects.filter(user=user).delete()
    legacy = LibraryTOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    static = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
    StaticToken.objects.create(device=static, token="abcd2345")
    seed_hex = legacy.key

    migration = __import__("core.migrations.0004_auth_hardening", fromlist=["move_second_factors"])
    migration.move_second_factors(apps, None)

    assert _count("otp_totp_totpdevice") == 0
    assert _count("otp_static_staticdevice") == 0 and _count("otp_static_statictoken") == 0
    moved = StaffTOTPDevice.objects.get(user=user)
    assert moved.key == seed_hex and moved.confirmed
    assert seed_hex not in _stored_key(moved.pk).lower()
    backup = BackupCodeDevice.objects.get(user=user)
    assert backup.codes.get().code_hash == backup_code_hash("abcd2345")
    client = Client()
    assert login(client, user, moved).status_code == 302
    assert client.get("/admin/").status_code == 200
    fresh = Client()
    form = {"username": user.username, "password": PASSWORD, "otp_token": "abcd2345"}
    assert fresh.post("/admin/login/", form).status_code == 302
    assert Client().post("/admin/login/", form).status_code == 200  # used


def test_totp_now_helper_agrees_with_the_device(make_staff):
    """The admin tests compute codes from the decrypted seed: that seed is the device's."""
    _user, device = make_staff("agent")
    assert totp_now(device) == _code_for(device.key)
