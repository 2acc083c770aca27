"""Issue 14 item 8: a Content-Security-Policy (strict: no inline script) and a Permissions-Policy
on every answer; `Cache-Control: no-store` on every page and API answer carrying personal or
account data (the portal, the API, everything under /admin/)."""

from __future__ import annotations

import pytest

from tests.factories.portal import customer_with_account

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def _assert_strict_headers(response) -> None:
    directives = _directives(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in directives["style-src"]
    assert "camera=()" in response["Permissions-Policy"]


def _assert_no_store(response) -> None:
    assert "no-store" in response["Cache-Control"], response.get("Cache-Control")


def test_portal_pages_with_account_data_are_not_stored(client, login_as):
    customer, account, _loans = customer_with_account()
    login_as(customer.user)
    for path in ("/portal/", f"/portal/accounts/{account.pk}/", "/portal/login/"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_strict_headers(response)
        _assert_no_store(response)


def test_api_answers_are_not_stored(token_client, api_client):
    customer, _account, _loans = customer_with_account()
    response = token_client(customer.user).get("/api/v1/accounts/")
    assert response.status_code == 200
    assert response.json()["results"][0]["outstanding_balance"]
    _assert_strict_headers(response)
    _assert_no_store(response)
    # Errors too (they can name an object).
    response = api_client.get("/api/v1/complaints/NO-SUCH/")
    assert response.status_code == 404
    _assert_no_store(response)


def test_every_admin_page_is_not_stored(staff_client):
    client, _user, _device = staff_client("manager")
    for path in (
        "/admin/",
        "/admin/accounts/creditaccount/",
        "/admin/complaints/complaint/",
        "/admin/audit/",
        "/admin/login/",
        "/admin/password_change/",
    ):
        response = client.get(path)
        assert response.status_code in (200, 302), path
        _assert_strict_headers(response)
        _assert_no_store(response)
    # The reports set a policy of their own (backoffice/reports/views.py), as strict on scripts.
    response = client.get("/admin/reports/")
    assert _directives(response)["script-src"] == ["'self'"]
    _assert_no_store(response)


def test_a_style_element_carries_the_policy_nonce(client):
    response = client.get("/admin/login/")
    nonce = next(s for s in _directives(response)["style-src"] if s.startswith("'nonce-"))
    assert f'<style nonce="{nonce[7:-1]}">' in response.content.decode()


def test_stylesheets_keep_their_cache(staff_client):
    """The reports' chart stylesheet carries no personal data: it keeps its own caching."""
    client, _user, _device = staff_client("manager")
    response = client.get("/admin/reports/charts.css")
    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "Permissions-Policy" in response
