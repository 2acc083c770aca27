"""Issue 14 item 5, API tokens: stored as digests only, expiring, revoked by logout, by any
password change, by "my account may be compromised" and by staff deactivation; service users'
tokens long-lived and rotated by `create_service_user`; the token admin shows no secret."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from core.models import ActivityEntry
from tests.admin.conftest import login
from tests.factories.portal import PASSWORD, customer_with_account

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGOUT = "/api/v1/auth/logout/"
ACCOUNTS = "/api/v1/accounts/"


def _sign_in(username: str, password: str = PASSWORD) -> str:
    response = APIClient().post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def _as(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def _columns_of_token_table() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        return cursor.fetchall()


def test_the_database_holds_a_digest_not_the_token():
    customer, _account, _ = customer_with_account()
    token = _sign_in(customer.user.username)
    assert len(token) == 64
    rows = _columns_of_token_table()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert token not in stored  # no column holds the token (knox keeps a 15-char lookup prefix)
    row = AuthToken.objects.get(user=customer.user)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    assert _as(token).get(ACCOUNTS).status_code == 200
    # The digest itself is not a credential.
    assert _as(row.digest).get(ACCOUNTS).status_code == 401


def test_a_token_expires_and_the_answer_says_when(settings):
    customer, _account, _ = customer_with_account()
    before = timezone.now()
    response = APIClient().post(
        TOKEN, {"username": customer.user.username, "password": PASSWORD}, format="json"
    )
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    expires_at = parse_datetime(body["expires_at"])
    assert expires_at.utcoffset() is not None
    assert before + settings.API_TOKEN_TTL <= expires_at <= timezone.now() + settings.API_TOKEN_TTL
    client = _as(body["token"])
    assert client.get(ACCOUNTS).status_code == 200
    AuthToken.objects.filter(user=customer.user).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    refused = client.get(ACCOUNTS)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "not_authenticated"
    assert not AuthToken.objects.filter(user=customer.user).exists()  # knox drops it


def test_logout_revokes_the_token_in_use_only():
    customer, _account, _ = customer_with_account()
    phone, laptop = _sign_in(customer.user.username), _sign_in(customer.user.username)
    assert AuthToken.objects.filter(user=customer.user).count() == 2
    assert _as(phone).post(LOGOUT).status_code == 204
    assert _as(phone).get(ACCOUNTS).status_code == 401
    assert _as(phone).post(LOGOUT).status_code == 401
    assert _as(laptop).get(ACCOUNTS).status_code == 200
    assert AuthToken.objects.filter(user=customer.user).count() == 1
    assert APIClient().post(LOGOUT).status_code == 401


@pytest.mark.parametrize("how", ["save", "update_fields", "service"])
def test_a_password_change_revokes_every_token(how, system_user):
    from core.audit import save_with_history

    customer, _account, _ = customer_with_account()
    token = _sign_in(customer.user.username)
    user = User.objects.get(pk=customer.user.pk)
    # A save that leaves the password hash alone keeps the token.
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    user.first_name = "Renamed"
    user.save()
    assert _as(token).get(ACCOUNTS).status_code == 200

    user.set_password("A-new-pass-2026!")
    if how == "save":
        user.save()
    elif how == "update_fields":
        user.save(update_fields=["password"])
    else:
        save_with_history(user, actor=system_user, reason="password changed")
    assert _as(token).get(ACCOUNTS).status_code == 401
    assert not AuthToken.objects.filter(user=user).exists()
    assert _as(_sign_in(user.username, "A-new-pass-2026!")).get(ACCOUNTS).status_code == 200


def test_account_compromised_revokes_the_customers_tokens():
    customer, account, _ = customer_with_account(loans=1)
    token = _sign_in(customer.user.username)
    other = _sign_in(customer_with_account()[0].user.username)
    filed = _as(token).post(
        "/api/v1/complaints/",
        {
            "category": "service",
            "account": account.pk,
            "loan_records": [],
            "description": "Someone else is using my account.",
            "account_compromised": True,
        },
        format="json",
    )
    assert filed.status_code == 201, filed.content
    assert _as(token).get(ACCOUNTS).status_code == 401
    assert not AuthToken.objects.filter(user=customer.user).exists()
    assert _as(other).get(ACCOUNTS).status_code == 200  # another customer's token stays


def test_staff_deactivation_revokes_knox_tokens(make_staff, system_user):
    from accounts.staff import staff_deactivate
    from core.tokens import token_issue

    manager, _device = make_staff("manager")
    manager.user_permissions.add(Permission.objects.get(codename="change_user"))
    leaver, _device = make_staff("agent")
    _row, token = token_issue(user=leaver)
    assert _as(token).get(ACCOUNTS).status_code == 403  # authenticated; staff read nothing
    staff_deactivate(
        actor=User.objects.get(pk=manager.pk), reason="left the company", user_id=leaver.pk
    )
    assert _as(token).get(ACCOUNTS).status_code == 401
    assert not AuthToken.objects.filter(user=leaver).exists()


def _create_service_user(name: str = "risk-engine", *args: str) -> str:
    out = io.StringIO()
    call_command("create_service_user", name, "--permission", "risk", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_create_service_user_issues_a_long_lived_token_and_rotates_it(settings):
    first = _create_service_user()
    user = User.objects.get(username="risk-engine")
    assert user.is_active and not user.is_staff and not user.has_usable_password()
    assert user.has_perm("accounts.raise_risk_signal")
    assert not hasattr(user, "customer")
    row = AuthToken.objects.get(user=user)
    assert row.expiry - timezone.now() > settings.API_SERVICE_TOKEN_TTL - timedelta(minutes=1)
    assert row.expiry - timezone.now() > settings.API_TOKEN_TTL * 10
    signal = _as(first).post("/api/v1/risk/signals/", {}, format="json")
    assert signal.status_code == 400  # authenticated and allowed: the empty body is refused
    assert _as(first).get(ACCOUNTS).status_code == 403  # not a customer

    second = _create_service_user()
    assert second != first
    assert _as(first).post("/api/v1/risk/signals/", {}, format="json").status_code == 401
    assert _as(second).post("/api/v1/risk/signals/", {}, format="json").status_code == 400
    assert AuthToken.objects.filter(user=user).count() == 1
    rotations = ActivityEntry.objects.filter(
        action="service_user.token_rotate", object_id=str(user.pk)
    )
    assert rotations.count() == 2
    assert rotations.order_by("-pk").first().changes["api_tokens_revoked"] == 1
    # No password, so no sign-in anywhere.
    assert APIClient().post(TOKEN, {"username": "risk-engine", "password": ""}).status_code == 400


def test_create_service_user_refuses_people_and_unknown_permissions(make_staff):
    staff, _device = make_staff("agent")
    with pytest.raises(CommandError):
        _create_service_user(staff.username)
    customer, _account, _ = customer_with_account()
    with pytest.raises(CommandError):
        _create_service_user(customer.user.username)
    with pytest.raises(CommandError):
        call_command("create_service_user", "x", "--permission", "root", stdout=io.StringIO())
    assert not AuthToken.objects.exists()
    assert not User.objects.filter(username="x").exists()


def test_the_token_admin_shows_no_secret_and_mints_nothing(make_staff):
    customer, _account, _ = customer_with_account()
    token = _sign_in(customer.user.username)
    digest = AuthToken.objects.get().digest
    user, device = make_staff("manager")
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    client = Client()
    assert login(client, user, device).status_code == 302
    listing = client.get("/admin/knox/authtoken/")
    assert listing.status_code == 200
    html = listing.content.decode()
    assert customer.user.username in html
    assert token[:15] not in html and digest not in html and digest[:15] not in html
    for page in ("change", "history"):
        assert client.get(f"/admin/knox/authtoken/{digest}/{page}/").status_code == 403
    assert client.get("/admin/knox/authtoken/add/").status_code == 403
    assert client.post("/admin/knox/authtoken/add/", {"user": customer.user.pk}).status_code == 403
    assert AuthToken.objects.count() == 1
    # django-otp's plain-text device pages are gone.
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404
