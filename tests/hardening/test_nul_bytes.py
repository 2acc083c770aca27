"""Issue 14 item 7: NUL bytes in URL path parameters and query filters answer 404/400 (the API
with the error body of CONTRACT.md, pages with the site's 404/400 page), never a 500 from
PostgreSQL refusing the byte."""

from __future__ import annotations

import pytest

from tests.factories.portal import customer_with_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_api(token_client):
    customer, _account, _loans = customer_with_account()
    return token_client(customer.user)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/complaints/%00/"),
        ("get", "/api/v1/appeals/%00/"),
        ("get", "/api/v1/closures/%00/"),
        ("get", "/api/v1/complaints/%00/messages/"),
        ("post", "/api/v1/complaints/%00/review/"),
        ("post", "/api/v1/complaints/%00/messages/"),
        ("get", "/api/v1/complaints/ab%00cd/"),
    ],
)
def test_api_path_with_nul_is_404_with_the_error_body(customer_api, method, path):
    response = getattr(customer_api, method)(path, {"grounds": "x"} if method == "post" else None)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    "query", ["status=%00", "cursor=%00", "st%00atus=received", "status=ok&status=a%00b"]
)
def test_api_query_with_nul_is_400_with_the_error_body(customer_api, query):
    response = customer_api.get(f"/api/v1/complaints/?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]


def test_api_without_nul_is_unchanged(customer_api):
    assert customer_api.get("/api/v1/complaints/").status_code == 200
    response = customer_api.get("/api/v1/complaints/NO-SUCH-REF/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/portal/complaints/%00/", "/portal/appeals/%00/", "/portal/accounts/%00/"]
)
def test_portal_path_with_nul_is_a_404_page(client, login_as, path):
    customer, _account, _loans = customer_with_account()
    login_as(customer.user)
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_portal_query_with_nul_is_a_400_page(client, login_as):
    customer, account, _loans = customer_with_account()
    login_as(customer.user)
    assert client.get(f"/portal/accounts/{account.pk}/?older=%00").status_code == 400
    assert client.get(f"/portal/accounts/{account.pk}/").status_code == 200


def _changelists() -> list[str]:
    from django.contrib import admin

    return sorted(
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for model in admin.site._registry
    )


def test_status_nul_on_every_admin_changelist_is_400(staff_client):
    client, _user, _device = staff_client("manager")
    paths = _changelists()
    assert len(paths) >= 7
    answers = {path: client.get(f"{path}?status=%00").status_code for path in paths}
    assert set(answers.values()) == {400}, answers
    # Without the NUL the same filter works (the manager sees the complaints list).
    assert client.get("/admin/complaints/complaint/?status=received").status_code == 200
