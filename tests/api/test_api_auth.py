"""Token sign-in: lockout shared with the portal form, staff refused, bad input never a 500."""

from __future__ import annotations

import json

import pytest

from tests.factories import StaffFactory, UserFactory
from tests.factories.portal import PASSWORD, customer_with_account

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


def _token(api_client, username, password, **extra):
    return api_client.post(
        TOKEN, {"username": username, "password": password}, format="json", **extra
    )


def test_customer_gets_a_token_that_works(api_client):
    customer, _, _ = customer_with_account()
    response = _token(api_client, customer.user.username, PASSWORD)
    assert response.status_code == 200
    token = response.json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get("/api/v1/accounts/").status_code == 200


def test_wrong_password_is_400_with_error_body(api_client):
    customer, _, _ = customer_with_account()
    response = _token(api_client, customer.user.username, "nope")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"


def test_staff_get_no_customer_token(api_client):
    """A staff password answers like a wrong one (issue 14 item 4; tests/hardening)."""
    staff = StaffFactory(role="agent")
    response = _token(api_client, staff.username, PASSWORD)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert "token" not in response.json()


def test_lockout_after_five_failures(api_client):
    customer, _, _ = customer_with_account()
    for _i in range(4):
        assert _token(api_client, customer.user.username, "nope").status_code == 400
    # the fifth failure is recorded and answered with the lockout
    assert _token(api_client, customer.user.username, "nope").status_code == 429
    response = _token(api_client, customer.user.username, PASSWORD)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"


def test_portal_and_api_failures_count_toward_the_same_lockout(api_client, client):
    customer, _, _ = customer_with_account()
    for _i in range(3):
        client.post("/portal/login/", {"username": customer.user.username, "password": "x"})
    for _i in range(2):
        _token(api_client, customer.user.username, "nope")
    assert _token(api_client, customer.user.username, PASSWORD).status_code == 429
    response = client.post(
        "/portal/login/", {"username": customer.user.username, "password": PASSWORD}
    )
    assert response.status_code == 429


def test_api_lockout_uses_the_client_ip_behind_the_proxy(api_client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    customer, _, _ = customer_with_account()
    for i in range(5):
        _token(
            api_client,
            customer.user.username,
            "nope",
            HTTP_X_FORWARDED_FOR=f"9.9.9.{i}, 203.0.113.9",
        )
    assert (
        _token(api_client, customer.user.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9")
    ).status_code == 429
    assert (
        _token(api_client, customer.user.username, PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.10")
    ).status_code == 200


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"username": "a", "password": ', "application/json"),
        ("\xff\xfe", "application/json"),
        ("[]", "application/json"),
        ('"just a string"', "application/json"),
        ("null", "application/json"),
        ('{"username": ["a"], "password": {"x": 1}}', "application/json"),
        ('{"username": 12, "password": true}', "application/json"),
        ('{"username": "a", "password": "b", "extra": 1}', "application/json"),
        ('{"username": "' + "x" * 10000 + '", "password": "b"}', "application/json"),
        ('{"username": "a\\u0000b", "password": "b"}', "application/json"),
        ('{"username": "\\ud800", "password": "b"}', "application/json"),
        ("username=a&password=b", "text/plain"),
    ],
)
def test_bad_input_is_a_clear_4xx(api_client, body, content_type):
    response = api_client.generic(
        "POST", TOKEN, body.encode("utf-8", "surrogatepass"), content_type
    )
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"]


def test_unknown_field_is_named_in_the_error(api_client):
    response = api_client.post(
        TOKEN, {"username": "a", "password": "b", "usernme": "c"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "usernme" in error["fields"]


def test_unicode_and_html_usernames_are_plain_failures(api_client):
    for name in ("用户名😀", "<script>alert(1)</script>", "' OR 1=1 --"):
        response = _token(api_client, name, "x")
        assert response.status_code == 400
        assert "<script>" not in json.dumps(response.json())


def test_oversized_body_is_413(api_client, settings):
    big = b'{"username": "' + b"x" * (settings.MAX_REQUEST_BODY_BYTES + 10) + b'"}'
    response = api_client.generic("POST", TOKEN, big, "application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_wrong_method_is_405_with_error_body(api_client):
    response = api_client.get(TOKEN)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_service_user_gets_a_token_but_no_customer_data(api_client):
    service = UserFactory(username="risk-engine")
    response = _token(api_client, service.username, PASSWORD)
    assert response.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api_client.get("/api/v1/accounts/").status_code == 403
