"""Property-based run of schemathesis against /api/schema/, signed in as a customer who owns an
account with loans and messages: no 500s, and every response matches the schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.factories.portal import customer_with_account, portal_notice

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def customer_token(db) -> str:
    customer, _account, _loans = customer_with_account(loans=3)
    portal_notice(user=customer.user, subject="<b>s</b>", body="正文")
    return Token.objects.create(user=customer.user).key


@pytest.fixture
def api_schema(db, client):
    from django.core import signals
    from django.db import close_old_connections

    from backoffice.wsgi import application

    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    # Called as a plain WSGI app, Django would close the test's database connection at the end
    # of each request (and lose the test transaction); Django's own test client does the same.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.from_dict(response.json(), app=application)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


schema = schemathesis.from_pytest_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
def test_api_against_its_schema(case, customer_token):
    from django.core.cache import cache

    cache.clear()  # throttles: the property run is not a flood
    headers = {"Authorization": f"Token {customer_token}"}
    if case.headers and "Authorization" in case.headers:
        headers = {}
    case.call_and_validate(
        headers=headers, checks=(not_a_server_error, response_schema_conformance)
    )
