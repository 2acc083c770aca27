"""Issue 14 item 2 (portal): every portal form carries a one-time submission token.

Before: two identical POSTs to /portal/complaints/new/ 10 ms apart made two `billing`
complaints. After: the second POST files nothing and answers the first one's redirect.
"""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.db import connection
from django.test import Client

from closures.models import ClosureRequest
from complaints.models import Complaint
from core.portal import SUBMISSION_TOKEN_FIELD
from tests.factories.complaints import account_with_loans

MODEL_BACKEND = "core.permissions.PermissionBackend"
TOKEN_RE = re.compile(rf'name="{SUBMISSION_TOKEN_FIELD}" value="([A-Za-z0-9_-]+)"')


def _client(user) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


def _token(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    tokens = TOKEN_RE.findall(response.content.decode())
    assert tokens, f"no submission token on {url}"
    return tokens[0]


def _billing(account, token: str, text: str = "账单金额不对") -> dict:
    return {
        "category": "billing",
        "account": account.pk,
        "description": text,
        SUBMISSION_TOKEN_FIELD: token,
    }


@pytest.fixture(params=["locmem", "redis"])
def shared_cache(request, settings, redis_url):
    """The tokens on both caches the app runs with: one process's memory and Redis."""
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        }
    from django.core.cache import cache

    cache.clear()
    yield request.param
    cache.clear()


@pytest.mark.django_db
def test_every_portal_form_carries_a_fresh_token(system_user):
    account, _loans = account_with_loans(actor=system_user)
    client = _client(account.customer.user)
    first = _token(client, "/portal/complaints/new/")
    second = _token(client, "/portal/complaints/new/")
    assert first != second and len(first) >= 24
    assert _token(client, f"/portal/accounts/{account.pk}/close/")


@pytest.mark.django_db
def test_second_post_of_a_token_files_nothing_and_answers_the_same(system_user, shared_cache):
    account, _loans = account_with_loans(actor=system_user)
    client = _client(account.customer.user)
    token = _token(client, "/portal/complaints/new/")

    first = client.post("/portal/complaints/new/", _billing(account, token))
    second = client.post("/portal/complaints/new/", _billing(account, token, "改过的文字"))

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert second["X-Submission-Replayed"] == "true"
    complaint = Complaint.objects.get()
    assert first["Location"] == f"/portal/complaints/{complaint.reference}/"
    assert complaint.description == "账单金额不对"
    # A fresh form (a fresh token) files again.
    third = client.post(
        "/portal/complaints/new/", _billing(account, _token(client, "/portal/complaints/new/"))
    )
    assert third.status_code == 302 and third["Location"] != first["Location"]
    assert Complaint.objects.count() == 2


@pytest.mark.django_db
def test_a_form_with_errors_is_answered_the_same_and_its_new_token_works(system_user):
    account, loans = account_with_loans(actor=system_user)
    client = _client(account.customer.user)
    token = _token(client, "/portal/complaints/new/")
    bad = {"category": "unauthorized_loan", "account": account.pk, "description": "x"}
    first = client.post("/portal/complaints/new/", {**bad, SUBMISSION_TOKEN_FIELD: token})
    again = client.post("/portal/complaints/new/", {**bad, SUBMISSION_TOKEN_FIELD: token})
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    new_token = TOKEN_RE.findall(first.content.decode())[0]
    assert new_token != token
    fixed = {**bad, "loan_records": [loans[0].pk], SUBMISSION_TOKEN_FIELD: new_token}
    assert client.post("/portal/complaints/new/", fixed).status_code == 302
    assert Complaint.objects.count() == 1


@pytest.mark.django_db
def test_tokens_are_scoped_per_customer(system_user):
    mine, _ = account_with_loans(actor=system_user)
    theirs, _ = account_with_loans(actor=system_user)
    me, them = _client(mine.customer.user), _client(theirs.customer.user)
    token = _token(me, "/portal/complaints/new/")
    assert me.post("/portal/complaints/new/", _billing(mine, token)).status_code == 302
    # Someone else's copy of the token neither replays my answer nor blocks their own filing.
    answer = them.post("/portal/complaints/new/", _billing(theirs, token))
    assert answer.status_code == 302 and "X-Submission-Replayed" not in answer
    assert Complaint.objects.filter(customer=theirs.customer).count() == 1


@pytest.mark.django_db
def test_closure_request_posted_twice_sends_one_code(system_user):
    account, _loans = account_with_loans(actor=system_user)
    client = _client(account.customer.user)
    token = _token(client, f"/portal/accounts/{account.pk}/close/")
    data = {"channel": "sms", "understood": "on", SUBMISSION_TOKEN_FIELD: token}
    first = client.post(f"/portal/accounts/{account.pk}/close/", data)
    second = client.post(f"/portal/accounts/{account.pk}/close/", data)
    assert first.status_code == 302 and second["Location"] == first["Location"]
    assert ClosureRequest.objects.filter(account=account).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_10_ms_apart_make_one_complaint(system_user, shared_cache):
    """The issue's case, concurrently: two threads (two database connections) post the same form
    10 ms apart; one complaint, and both answers redirect to it."""
    account, _loans = account_with_loans(actor=system_user)
    user = account.customer.user
    token = _token(_client(user), "/portal/complaints/new/")
    answers: dict[int, object] = {}

    def post(n: int) -> None:
        try:
            answers[n] = _client(user).post("/portal/complaints/new/", _billing(account, token))
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
    threads[0].start()
    time.sleep(0.01)
    threads[1].start()
    for t in threads:
        t.join(timeout=60)

    assert Complaint.objects.filter(customer=account.customer).count() == 1
    complaint = Complaint.objects.get(customer=account.customer)
    locations = {answers[n]["Location"] for n in range(2)}
    assert locations == {f"/portal/complaints/{complaint.reference}/"}
    assert sorted("X-Submission-Replayed" in answers[n] for n in range(2)) == [False, True]
