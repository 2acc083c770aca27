"""Issue 14 item 2 (API): every API POST honours `Idempotency-Key` (CONTRACT.md).

Before: the header was ignored; two POSTs with one key filed two complaints. After: the same key
from the same user within 24 hours answers the first result again and files nothing more.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from complaints.models import Complaint
from core.models import IdempotentRequest
from tests.factories.complaints import account_with_loans

pytestmark = pytest.mark.django_db


def _body(account, text: str = "账单金额不对") -> dict:
    return {"category": "billing", "account": account.pk, "description": text}


def _post(client, account, key: str | None, text: str = "账单金额不对"):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/v1/complaints/", _body(account, text), format="json", **extra)


@pytest.fixture
def customer_client(system_user, token_client):
    account, _loans = account_with_loans(actor=system_user)
    return account, token_client(account.customer.user)


def test_same_key_same_body_answers_the_first_result_and_files_once(customer_client):
    account, client = customer_client
    key = str(uuid.uuid4())
    first = _post(client, account, key)
    second = _post(client, account, key)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Complaint.objects.filter(customer=account.customer).count() == 1
    assert first.json()["reference"] == Complaint.objects.get().reference
    # No key: each POST files (the header is what makes a retry safe).
    assert _post(client, account, None).status_code == 201
    assert Complaint.objects.count() == 2


def test_same_key_other_body_is_refused(customer_client):
    account, client = customer_client
    key = str(uuid.uuid4())
    assert _post(client, account, key).status_code == 201
    response = _post(client, account, key, text="另一份投诉")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Complaint.objects.count() == 1


def test_keys_are_per_user(system_user, token_client, customer_client):
    account, client = customer_client
    key = str(uuid.uuid4())
    assert _post(client, account, key).status_code == 201
    other, _ = account_with_loans(actor=system_user)
    other_client = token_client(other.customer.user)
    answer = _post(other_client, other, key)
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer
    assert Complaint.objects.filter(customer=other.customer).count() == 1


def test_a_key_that_is_not_a_uuid_is_a_field_error(customer_client):
    account, client = customer_client
    response = _post(client, account, "not-a-uuid")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert Complaint.objects.count() == 0


def test_an_error_answer_is_replayed_too(customer_client):
    account, client = customer_client
    key = str(uuid.uuid4())
    bad = {"category": "unauthorized_loan", "account": account.pk, "description": "x"}
    first = client.post("/api/v1/complaints/", bad, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post("/api/v1/complaints/", bad, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_a_throttled_answer_is_not_kept(customer_client, monkeypatch):
    from django.core.cache import cache
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"anon": "100/min", "user": "1/min"})
    account, client = customer_client
    assert client.get("/api/v1/accounts/").status_code == 200
    key = str(uuid.uuid4())
    assert _post(client, account, key).status_code == 429
    assert not IdempotentRequest.objects.filter(key=key).exists()
    cache.clear()  # the window is over
    assert _post(client, account, key).status_code == 201
    assert Complaint.objects.count() == 1


def test_after_24_hours_a_key_starts_afresh(customer_client):
    account, client = customer_client
    key = str(uuid.uuid4())
    assert _post(client, account, key).status_code == 201
    IdempotentRequest.objects.filter(key=key).update(
        created_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    again = _post(client, account, key, text="一天以后的新投诉")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert Complaint.objects.count() == 2


def test_anonymous_posts_are_served_as_without_a_key(api_client):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": "nobody", "password": "wrong"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert response.status_code == 400
    assert IdempotentRequest.objects.count() == 0


def test_schema_documents_the_header_on_posts(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    create = schema["paths"]["/api/v1/complaints/"]["post"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"])
    assert "409" in create["responses"]
    listing = schema["paths"]["/api/v1/complaints/"]["get"]
    assert not any(p["name"] == "Idempotency-Key" for p in listing.get("parameters", []))


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_run_once(system_user, token_client):
    """Four threads (four database connections) post the same key at once: one complaint, every
    answer the same 201 body, three of them replayed after waiting for the first."""
    account, _loans = account_with_loans(actor=system_user)
    authorization = token_client(account.customer.user)._credentials["HTTP_AUTHORIZATION"]
    key = str(uuid.uuid4())
    answers: list = []
    barrier = threading.Barrier(4)

    def post() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=authorization)
        barrier.wait()
        try:
            answers.append(_post(client, account, key))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert Complaint.objects.filter(customer=account.customer).count() == 1
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json()["reference"] for a in answers}) == 1
    assert sorted("Idempotent-Replayed" in a for a in answers) == [False, True, True, True]


def test_sign_in_answers_are_never_stored(customer_client):
    """A signed-in caller posting to the token endpoint with a key gets a new token each time,
    and no token is ever written to the stored answers."""
    account, client = customer_client
    user = account.customer.user
    user.set_password("a-long-enough-pass")
    user.save()
    client.credentials()  # no token: the sign-in itself
    key = str(uuid.uuid4())
    body = {"username": user.username, "password": "a-long-enough-pass"}
    first = client.post("/api/v1/auth/token/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    client.credentials(HTTP_AUTHORIZATION=f"Token {first.json()['token']}")
    second = client.post("/api/v1/auth/token/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == second.status_code == 200
    assert first.json()["token"] != second.json()["token"]
    assert "Idempotent-Replayed" not in second
    assert not IdempotentRequest.objects.filter(key=key).exists()
