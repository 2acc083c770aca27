"""Password + TOTP login, create_staff, enrollment and the refusal of password-only sessions."""

from __future__ import annotations

import base64
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.urls.resolvers import RoutePattern
from django_otp.oath import TOTP

from accounts.models import User
from core.models import BackupCodeDevice
from core.models import StaffTOTPDevice as TOTPDevice
from tests.factories import StaffFactory

from .conftest import PASSWORD, login, totp_now

pytestmark = pytest.mark.django_db


def _admin_urls() -> list[str]:
    """Every admin URL a signed-in staff member could open: site pages, and per registered
    model the changelist, add, change, history and any custom object page."""
    urls = [
        reverse("admin:index"),
        reverse("admin:password_change"),
        reverse("admin:password_change_done"),
        reverse("admin:autocomplete"),
        reverse("admin:jsi18n"),
        reverse("admin:stepup"),
    ]
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        info = f"admin:{opts.app_label}_{opts.model_name}"
        urls.append(reverse("admin:app_list", args=[opts.app_label]))
        urls.append(reverse(f"{info}_changelist"))
        urls.append(reverse(f"{info}_add"))
        for suffix in ("change", "history", "delete"):
            urls.append(reverse(f"{info}_{suffix}", args=["1"]))
        for suffix in ("unmask", "simple_history"):
            try:
                args = ["1"] if suffix == "unmask" else ["1", "1"]
                urls.append(reverse(f"{info}_{suffix}", args=args))
            except NoReverseMatch:
                pass
        assert model_admin  # registered
    # Staff pages of the apps (staff_patterns), every path parameter filled with "1".
    from backoffice import staff_urls

    for pattern in staff_urls.urlpatterns:
        if isinstance(pattern.pattern, RoutePattern):
            urls.append("/admin/" + re.sub(r"<[^>]+>", "1", str(pattern.pattern)))
    return sorted(set(urls))


def _assert_refused(client: Client, url: str) -> None:
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in (302, 403), (method, url, response.status_code)
        if response.status_code == 302:
            assert response["Location"].startswith("/admin/login/"), (url, response["Location"])


def test_password_only_session_is_refused_on_every_admin_url(make_staff):
    user, _device = make_staff("manager")
    superuser = StaffFactory(is_superuser=True)  # even every permission does not replace OTP
    urls = _admin_urls()
    assert len(urls) > 40
    for who in (user, superuser):
        client = Client()
        client.force_login(who)  # a password-authenticated session, no OTP device verified
        for url in urls:
            _assert_refused(client, url)


def test_login_without_or_with_a_wrong_code_fails(make_staff):
    user, device = make_staff("agent")
    client = Client()
    for token in ("", "000000x", "12345"):
        response = client.post(
            "/admin/login/", {"username": user.username, "password": PASSWORD, "otp_token": token}
        )
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302
    response = login(client, user, device)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_wrong_password_with_right_code_fails(make_staff):
    user, device = make_staff("agent")
    client = Client()
    response = client.post(
        "/admin/login/",
        {"username": user.username, "password": "wrong-pass", "otp_token": totp_now(device)},
    )
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_create_staff_otpauth_line_yields_codes_that_log_in(system_user):
    out = io.StringIO()
    call_command(
        "create_staff", "zhang.wei", "--role", "reviewer", "--password", PASSWORD, stdout=out
    )
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert re.fullmatch(r"otpauth://totp/\S+\?\S*secret=[A-Z2-7]+=*\S*", line), line
    query = parse_qs(urlparse(line).query)
    secret = query["secret"][0]
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    code = f"{TOTP(key, step=int(query['period'][0]), digits=int(query['digits'][0])).token():06d}"

    user = User.objects.get(username="zhang.wei")
    assert user.is_staff and user.is_active and not user.is_superuser
    assert [g.name for g in user.groups.all()] == ["reviewer"]
    assert user.history.latest().history_user.username == "system:create_staff"

    client = Client()
    response = client.post(
        "/admin/login/",
        {"username": "zhang.wei", "password": PASSWORD, "otp_token": code, "next": "/admin/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    # Running it again replaces the device: one device, a new secret, the old session is over.
    out2 = io.StringIO()
    call_command("create_staff", "zhang.wei", "--role", "auditor", stdout=out2)
    assert out2.getvalue().strip() != line
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert [g.name for g in user.groups.all()] == ["auditor"]
    assert user.check_password(PASSWORD)  # no --password: the password stays
    assert client.get("/admin/").status_code == 302


def test_create_staff_rejects_unknown_role(db):
    with pytest.raises(CommandError):
        call_command("create_staff", "x", "--role", "superuser", stdout=io.StringIO())
    assert not User.objects.filter(username="x").exists()


def test_first_login_enrolls_a_device_and_shows_backup_codes_once(db):
    user = StaffFactory(role="agent", password="")
    user.set_password(PASSWORD)
    user.save()
    client = Client()
    response = client.post(
        "/admin/login/", {"username": user.username, "password": PASSWORD, "otp_token": ""}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/enroll/"
    # Password only: still no admin page.
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/accounts/creditaccount/").status_code == 302

    page = client.get("/admin/enroll/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    secret = re.search(r'class="otp-secret">([A-Z2-7]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key

    wrong = client.post("/admin/enroll/", {"otp_token": "000000"})
    assert wrong.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed

    done = client.post("/admin/enroll/", {"otp_token": totp_now(device)})
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    codes = done.context["codes"]
    assert len(codes) == 10
    for code in codes:
        assert code in done.content.decode()
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    # Shown once: the enrollment page is gone for an enrolled member.
    assert client.get("/admin/enroll/").status_code == 302

    # A backup code signs in (once).
    client.post(reverse("admin:logout"))
    assert client.get("/admin/").status_code == 302
    fresh = Client()
    form = {"username": user.username, "password": PASSWORD, "otp_token": codes[0]}
    assert fresh.post("/admin/login/", form).status_code == 302
    assert fresh.get("/admin/").status_code == 200
    again = Client()
    assert again.post("/admin/login/", form).status_code == 200
    assert BackupCodeDevice.objects.get(user=user).codes_left == 9


def test_enrollment_is_not_open_to_anonymous_or_enrolled_users(make_staff):
    assert Client().get("/admin/enroll/")["Location"].startswith("/admin/login/")
    user, _device = make_staff("agent")
    client = Client()
    client.force_login(user)
    response = client.get("/admin/enroll/")
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=False).count() == 0


def test_stepup_records_a_verification_and_redirects_to_a_safe_next(staff_client):
    from core.models import StepUpVerification

    client, user, device = staff_client("reviewer")
    bad = client.post("/admin/stepup/", {"otp_token": "000000", "next": "/admin/"})
    assert bad.status_code == 200
    assert not StepUpVerification.objects.filter(user=user, purpose="admin").exists()
    ok = client.post(
        "/admin/stepup/", {"otp_token": totp_now(device), "next": "https://evil.example/"}
    )
    assert ok.status_code == 302
    assert ok["Location"] == "/admin/"
    assert StepUpVerification.objects.filter(user=user, purpose="admin").count() == 1
    ok = client.post("/admin/stepup/?next=/admin/accounts/", {"otp_token": totp_now(device)})
    assert ok["Location"] == "/admin/accounts/"


def test_wrong_codes_count_towards_the_lockout(make_staff, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user, device = make_staff("agent")
    client = Client()
    form = {"username": user.username, "password": PASSWORD, "otp_token": "000000"}
    for _i in range(3):
        assert client.post("/admin/login/", form).status_code in (200, 403, 429)
    response = client.post("/admin/login/", {**form, "otp_token": totp_now(device)})
    assert response.status_code != 302
    assert client.get("/admin/").status_code == 302


def test_role_groups_hold_their_permissions_after_migrate(db):
    """post_migrate rebuilds the groups after every app's permissions exist (as on a fresh
    database, where no permission exists before migrate)."""
    from django.contrib.auth.models import Group, Permission
    from django.core.management.sql import emit_post_migrate_signal

    Group.objects.all().delete()
    Permission.objects.all().delete()
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    manager = Group.objects.get(name="manager")
    perms = {f"{p.content_type.app_label}.{p.codename}" for p in manager.permissions.all()}
    assert {"accounts.view_user", "accounts.view_customer", "accounts.view_unmasked_pii"} <= perms


def test_an_overlong_username_is_a_form_error_not_a_500(client):
    """django-axes stores the username in a 255-character column: a longer one must be refused
    by the form before authenticate() and the lockout handler see it."""
    response = client.post(
        "/admin/login/", {"username": "a" * 400, "password": "x", "otp_token": "123456"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"]
