"""Portal sign-in and sign-out: lockout (django-axes), client IP behind proxies, staff refused."""

from __future__ import annotations

import pytest

from tests.factories import StaffFactory
from tests.factories.portal import PASSWORD, customer_with_account

pytestmark = pytest.mark.django_db

LOGIN = "/portal/login/"


def _post(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def test_login_page_renders(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body and 'name="password"' in body


def test_customer_signs_in_and_out(client):
    customer, _, _ = customer_with_account()
    response = _post(client, customer.user.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    assert client.get("/portal/").status_code == 200
    assert client.get("/portal/logout/").status_code == 200  # GET only asks
    assert client.get("/portal/").status_code == 200
    response = client.post("/portal/logout/")
    assert response.status_code == 302
    assert client.get("/portal/").status_code == 302


def test_next_parameter_is_followed_only_to_our_own_host(client):
    customer, account, _ = customer_with_account()
    response = client.post(
        f"{LOGIN}?next=/portal/accounts/{account.pk}/",
        {
            "username": customer.user.username,
            "password": PASSWORD,
            "next": f"/portal/accounts/{account.pk}/",
        },
    )
    assert response["Location"] == f"/portal/accounts/{account.pk}/"
    client.post("/portal/logout/")
    response = client.post(
        LOGIN,
        {"username": customer.user.username, "password": PASSWORD, "next": "https://evil.test/"},
    )
    assert response["Location"] == "/portal/"


def test_wrong_password_shows_a_form_error(client):
    customer, _, _ = customer_with_account()
    response = _post(client, customer.user.username, "wrong")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get("/portal/").status_code == 302


def test_staff_cannot_sign_in_to_the_portal(client):
    staff = StaffFactory(role="agent")
    response = _post(client, staff.username, PASSWORD)
    assert response.status_code == 200
    # Like a wrong password (issue 14 item 4; tests/hardening).
    assert response.context["form"].errors.as_data()["__all__"][0].code == "invalid_login"
    assert "_auth_user_id" not in client.session


def test_lockout_after_five_failures_for_username_and_ip(client):
    customer, _, _ = customer_with_account()
    for _i in range(5):
        _post(client, customer.user.username, "wrong")
    # the right password no longer helps while locked out
    response = _post(client, customer.user.username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    # another IP is not locked for the same username
    response = _post(client, customer.user.username, PASSWORD, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 302


def test_four_failures_then_success_resets_the_count(client):
    customer, _, _ = customer_with_account()
    for _i in range(4):
        _post(client, customer.user.username, "wrong")
    assert _post(client, customer.user.username, PASSWORD).status_code == 302
    client.post("/portal/logout/")
    for _i in range(4):
        _post(client, customer.user.username, "wrong")
    assert _post(client, customer.user.username, PASSWORD).status_code == 302


def test_lockout_expires_after_the_cooloff(client, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    customer, _, _ = customer_with_account()
    for _i in range(5):
        _post(client, customer.user.username, "wrong")
    assert _post(client, customer.user.username, PASSWORD).status_code == 429
    # 16 minutes later
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= timedelta(minutes=16)
        attempt.save()
    assert _post(client, customer.user.username, PASSWORD).status_code == 302


def test_client_ip_behind_one_proxy_from_x_forwarded_for(client, settings):
    """With one trusted proxy, the address it appended is the client; a forged left-most entry
    does not let an attacker spread guesses over fake IPs."""
    settings.TRUSTED_PROXY_COUNT = 1
    customer, _, _ = customer_with_account()
    for i in range(5):
        _post(
            client,
            customer.user.username,
            "wrong",
            HTTP_X_FORWARDED_FOR=f"1.1.1.{i}, 203.0.113.7",
            REMOTE_ADDR="10.0.0.1",
        )
    locked = _post(client, customer.user.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert locked.status_code == 429
    other_client = _post(
        client, customer.user.username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2"
    )
    assert other_client.status_code == 302


def test_client_ip_ignores_x_forwarded_for_without_proxies(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    customer, _, _ = customer_with_account()
    for i in range(5):
        _post(client, customer.user.username, "wrong", HTTP_X_FORWARDED_FOR=f"1.1.1.{i}")
    assert _post(client, customer.user.username, PASSWORD).status_code == 429


def test_client_ip_unit():
    from django.test import RequestFactory, override_settings

    from core.net import client_ip

    rf = RequestFactory()
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4, 10.0.0.2")
    with override_settings(TRUSTED_PROXY_COUNT=0):
        assert client_ip(request) == "10.0.0.1"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert client_ip(request) == "10.0.0.2"
    with override_settings(TRUSTED_PROXY_COUNT=2):
        assert client_ip(request) == "1.2.3.4"


@pytest.mark.parametrize(
    "data",
    [
        {"username": "x" * 5000, "password": "y"},
        {"username": "用户\u0000", "password": "p"},
        {"username": "<script>alert(1)</script>", "password": "<b>"},
        {"username": "", "password": ""},
        {},
    ],
)
def test_odd_login_input_is_a_form_error_not_a_500(client, data):
    response = client.post(LOGIN, data)
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_oversized_portal_body_is_413(client):
    from django.conf import settings

    response = client.post(
        LOGIN, data=b"x" * (settings.MAX_REQUEST_BODY_BYTES + 1), content_type="text/plain"
    )
    assert response.status_code == 413
