"""Customer endpoints: accounts, loans, messages. Access, shape, paging, budgets, throttling."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from tests.factories import CreditAccountFactory, StaffFactory
from tests.factories.portal import customer_with_account, loans_for, portal_notice

pytestmark = pytest.mark.django_db

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$")
ENDPOINTS = ["/api/v1/accounts/", "/api/v1/accounts/{account}/loans/", "/api/v1/messages/"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_anonymous_is_401(api_client, path):
    _, account, _ = customer_with_account()
    response = api_client.get(path.format(account=account.pk))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_staff_token_is_refused(token_client, path):
    """Even a token made for a staff member elsewhere (admin) cannot read customer data."""
    _, account, _ = customer_with_account(loans=1)
    staff = StaffFactory(role="manager")
    response = token_client(staff).get(path.format(account=account.pk))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_bad_token_is_401(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert api_client.get("/api/v1/accounts/").status_code == 401


def test_accounts_list_shape_and_only_own(token_client):
    customer, account, _ = customer_with_account()
    customer_with_account()  # someone else
    response = token_client(customer.user).get("/api/v1/accounts/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}  # CONTRACT.md: every list
    rows = body["results"]
    assert [row["id"] for row in rows] == [account.pk]
    row = rows[0]
    assert set(row) == {
        "id",
        "number_masked",
        "status",
        "credit_limit",
        "outstanding_balance",
        "available_credit",
        "interest_free_days",
        "opened_at",
        "closed_at",
        "closure",
        "credit_balance",  # issue 12 item 7: money held for the customer, and its entries
        "credits",
    }
    assert row["credit_limit"] == "20000.00"
    assert Decimal(row["available_credit"]) == account.available_credit
    assert row["number_masked"] == f"**** {account.number[-4:]}"
    assert account.number not in str(rows)
    assert ISO_WITH_OFFSET.match(row["opened_at"])
    assert row["closed_at"] is None
    assert row["closure"] is None
    assert row["status"] == "active"


def test_accounts_list_reports_latest_closure(token_client, django_capture_on_commit_callbacks):
    from closures.services import closure_request_by_customer

    customer, account, _ = customer_with_account()
    closure = closure_request_by_customer(actor=customer.user, account_id=account.pk)
    rows = token_client(customer.user).get("/api/v1/accounts/").json()["results"]
    assert rows[0]["closure"] == closure.pk


def test_loans_paginated_newest_first_and_only_own(token_client):
    customer, account, loans = customer_with_account(loans=30)
    _, other_account, _ = customer_with_account(loans=2)
    client = token_client(customer.user)
    response = client.get(f"/api/v1/accounts/{account.pk}/loans/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    first = body["results"]
    assert len(first) == 25
    assert [r["reference"] for r in first] == [loan.reference for loan in reversed(loans)][:25]
    row = first[0]
    assert set(row) == {
        "id",
        "reference",
        "amount",
        "kind",
        "merchant",
        "channel",
        "status",
        "created_at",
    }
    assert row["amount"] == "199.00"
    assert ISO_WITH_OFFSET.match(row["created_at"])
    second = client.get(body["next"]).json()
    assert [r["reference"] for r in second["results"]] == [
        loan.reference for loan in reversed(loans)
    ][25:]
    assert second["next"] is None
    assert client.get(f"/api/v1/accounts/{other_account.pk}/loans/").status_code == 404
    assert client.get("/api/v1/accounts/999999999/loans/").status_code == 404


def test_bad_cursor_is_a_4xx(token_client):
    customer, account, _ = customer_with_account(loans=2)
    response = token_client(customer.user).get(
        f"/api/v1/accounts/{account.pk}/loans/", {"cursor": "%%%garbage"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_messages_only_own_portal_notices(token_client):
    customer, _, _ = customer_with_account()
    other, _, _ = customer_with_account()
    portal_notice(user=customer.user, subject="<script>x</script>", body="正文 body")
    portal_notice(user=other.user, subject="not yours")
    response = token_client(customer.user).get("/api/v1/messages/")
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1
    assert set(results[0]) == {"at", "event", "channel", "subject", "body"}
    # JSON carries text as text: the client escapes it where it renders HTML
    assert results[0]["subject"] == "<script>x</script>"
    assert results[0]["channel"] == "portal"
    assert ISO_WITH_OFFSET.match(results[0]["at"])
    assert response["Content-Type"].startswith("application/json")


def _count(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_query_budgets_do_not_grow(token_client):
    customer, account, _ = customer_with_account(loans=3)
    client = token_client(customer.user)
    CreditAccountFactory.create_batch(2, customer=customer)
    for _i in range(3):
        portal_notice(user=customer.user)
    paths = ["/api/v1/accounts/", f"/api/v1/accounts/{account.pk}/loans/", "/api/v1/messages/"]
    few = [_count(client, p) for p in paths]
    CreditAccountFactory.create_batch(38, customer=customer)
    loans_for(account, 37)
    for _i in range(37):
        portal_notice(user=customer.user)
    many = [_count(client, p) for p in paths]
    assert few == many
    assert max(many) <= 15


def test_anonymous_throttle_answers_429(api_client, monkeypatch):
    from rest_framework.throttling import AnonRateThrottle

    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "100/min"})
    codes = [
        api_client.post(
            "/api/v1/auth/token/", {"username": "u", "password": "p"}, format="json"
        ).status_code
        for _i in range(3)
    ]
    assert codes == [400, 400, 400]
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "u", "password": "p"}, format="json"
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert "Retry-After" in response


def test_user_throttle_answers_429(token_client, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "2/min"})
    customer, _, _ = customer_with_account()
    client = token_client(customer.user)
    codes = [client.get("/api/v1/accounts/").status_code for _i in range(3)]
    assert codes == [200, 200, 429]
    # another customer has their own allowance
    other, _, _ = customer_with_account()
    assert token_client(other.user).get("/api/v1/accounts/").status_code == 200


def test_token_revoked_with_sessions(token_client, system_user):
    from accounts.services import user_sessions_revoke

    customer, _, _ = customer_with_account()
    client = token_client(customer.user)
    assert client.get("/api/v1/accounts/").status_code == 200
    user_sessions_revoke(user=customer.user, actor=system_user, reason="test")
    assert not AuthToken.objects.filter(user=customer.user).exists()
    assert client.get("/api/v1/accounts/").status_code == 401


def test_has_risk_permission():
    from django.test import RequestFactory
    from rest_framework.request import Request

    from backoffice.roles import roles_sync
    from core.api_auth import HasRiskPermission, IsCustomer
    from tests.factories import UserFactory

    roles_sync()  # the groups get every permission once all apps have migrated
    risk = StaffFactory(role="risk_officer")
    agent = StaffFactory(role="agent")
    customer, _, _ = customer_with_account()
    perm = HasRiskPermission()
    for user, allowed in ((risk, True), (agent, False), (customer.user, False)):
        request = Request(RequestFactory().post("/"))
        request.user = user
        assert perm.has_permission(request, None) is allowed
        assert IsCustomer().has_permission(request, None) is (user == customer.user)
    service = UserFactory(username="risk-engine-svc")
    from django.contrib.auth.models import Permission

    service.user_permissions.add(Permission.objects.get(codename="raise_risk_signal"))
    service = type(service).objects.get(pk=service.pk)
    request = Request(RequestFactory().post("/"))
    request.user = service
    assert perm.has_permission(request, None) is True
