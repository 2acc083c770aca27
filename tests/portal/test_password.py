"""The portal's password pages (issue 13 item 12): change while signed in, reset by a one-time
code sent by SMS or email, without telling who has an account; and the page after "my account
may be compromised"."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import translation

from accounts.models import User
from accounts.services import passwords
from core import crypto
from core.activity import ActivityEntry
from core.tokens import token_issue
from notices.models import Notice
from tests.factories import StaffFactory
from tests.factories.portal import PASSWORD, customer_with_account

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "lantern-harbour-42"
RESET = "/portal/password-reset/"
RESET_CODE = "/portal/password-reset/code/"


@pytest.fixture(autouse=True)
def _no_padding(settings):
    settings.PASSWORD_RESET_MIN_SECONDS = 0


def _signed_in(customer) -> Client:
    client = Client()
    response = client.post(
        "/portal/login/", {"username": customer.user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def _code_sent_to(user) -> str:
    notice = Notice.objects.filter(recipient=user, event="accounts.password_reset_code").latest(
        "pk"
    )
    assert notice.channel == "sms" and notice.sensitive
    assert not re.search(r"\d{6}", notice.body)  # stored redacted; only the sealed body has it
    return re.search(r"\d{6}", crypto.decrypt(notice.sealed_body)).group(0)


# --- Change -----------------------------------------------------------------------------------


def test_change_password_keeps_this_session_and_signs_out_the_others():
    customer, _, _ = customer_with_account()
    here, elsewhere = _signed_in(customer), _signed_in(customer)
    _row, token = token_issue(user=customer.user)

    page = here.get("/portal/password/")
    assert page.status_code == 200
    assert 'name="old_password"' in page.content.decode()
    response = here.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/portal/"

    user = User.objects.get(pk=customer.user.pk)
    assert user.check_password(NEW_PASSWORD)
    assert here.get("/portal/").status_code == 200  # this session stays
    assert elsewhere.get("/portal/").status_code == 302  # every other one is signed out
    api = Client(headers={"authorization": f"Token {token}"})
    assert api.get("/api/v1/accounts/").status_code == 401  # and the API token revoked
    assert user.history.latest().history_change_reason == passwords.CHANGED_REASON
    assert ActivityEntry.objects.filter(
        action="accounts.user.password", object_id=str(user.pk), actor_id=user.pk
    ).exists()
    told = Notice.objects.filter(recipient=user, event="accounts.password_changed")
    assert set(told.values_list("channel", flat=True)) == {"portal", "email", "sms"}


def test_change_password_errors_are_field_errors_in_chinese():
    customer, _, _ = customer_with_account()
    client = _signed_in(customer)
    response = client.post(
        "/portal/password/",
        {"old_password": "wrong", "new_password1": "12345678", "new_password2": "12345679"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="error-summary"' in body
    assert 'data-testid="field-error-old_password"' in body
    with translation.override("zh-hans"):
        assert translation.gettext("Your current password is not correct.") in body
    assert User.objects.get(pk=customer.user.pk).check_password(PASSWORD)


def test_change_password_runs_djangos_validators():
    customer, _, _ = customer_with_account()
    client = _signed_in(customer)
    response = client.post(
        "/portal/password/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    assert 'data-testid="field-error-new_password2"' in response.content.decode()
    assert User.objects.get(pk=customer.user.pk).check_password(PASSWORD)


def test_change_password_needs_a_signed_in_customer(client):
    response = client.get("/portal/password/")
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")


def test_change_password_is_rate_limited(settings):
    settings.PORTAL_RATE_LIMITS = {
        **settings.PORTAL_RATE_LIMITS,
        "password_change": ("2/10m", "20/10m"),
    }
    customer, _, _ = customer_with_account()
    client = _signed_in(customer)
    wrong = {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post("/portal/password/", wrong).status_code == 200
    assert client.post("/portal/password/", wrong).status_code == 200
    refused = client.post("/portal/password/", wrong)
    assert refused.status_code == 429
    assert NEW_PASSWORD not in refused.content.decode()  # passwords are never written back


# --- Reset ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["username", "phone", "email"])
def test_reset_by_code_sets_the_new_password_and_signs_out_everywhere(client, how):
    customer, _, _ = customer_with_account()
    elsewhere = _signed_in(customer)
    _row, token = token_issue(user=customer.user)
    identifier = {
        "username": customer.user.username.upper(),
        "phone": f"{customer.phone[:3]} {customer.phone[3:7]} {customer.phone[7:]}",
        "email": customer.user.email,
    }[how]

    response = client.post(RESET, {"username": identifier})
    assert response.status_code == 302 and response["Location"] == RESET_CODE
    code = _code_sent_to(customer.user)
    assert client.get(RESET_CODE).status_code == 200
    response = client.post(
        RESET_CODE,
        {"code": code, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == "/portal/login/"

    user = User.objects.get(pk=customer.user.pk)
    assert user.check_password(NEW_PASSWORD)
    assert elsewhere.get("/portal/").status_code == 302
    api = Client(headers={"authorization": f"Token {token}"})
    assert api.get("/api/v1/accounts/").status_code == 401
    assert user.history.latest().history_change_reason == passwords.RESET_REASON
    # The code is used up: the same code again opens nothing.
    again = client.post(
        RESET_CODE,
        {"code": code, "new_password1": "x" + NEW_PASSWORD, "new_password2": "x" + NEW_PASSWORD},
    )
    assert again.status_code == 302 and again["Location"] == RESET
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)


def _reset_answers(identifier: str) -> tuple[int, str, str]:
    client = Client()
    first = client.post(RESET, {"username": identifier})
    page = client.get(RESET_CODE).content.decode()
    wrong = client.post(
        RESET_CODE, {"code": "000000", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    ).content.decode()

    def plain(html: str) -> str:  # the tokens of the form differ per page view
        return re.sub(r'value="[^"]*"', "", html)

    return first.status_code, plain(page), plain(wrong)


def test_reset_answers_the_same_for_an_unknown_name(client):
    customer, _, _ = customer_with_account(username="known-one")
    staff = StaffFactory(username="staff-one")
    known = _reset_answers("known-one")
    for other in ("nobody-here", staff.username, "13900000000", "nobody@example.com"):
        status, page, wrong = _reset_answers(other)
        assert status == known[0] == 302
        assert page.replace(other, "known-one") == known[1]
        assert wrong.replace(other, "known-one") == known[2]
    # Only the customer got a code; staff reset theirs elsewhere.
    assert Notice.objects.filter(event="accounts.password_reset_code").count() == 1
    assert Notice.objects.get(event="accounts.password_reset_code").recipient == customer.user


def test_reset_takes_as_long_for_an_unknown_name(client, settings):
    settings.PASSWORD_RESET_MIN_SECONDS = 0.3
    customer_with_account(username="timed-one")
    for identifier in ("timed-one", "timed-nobody"):
        started = time.monotonic()
        assert client.post(RESET, {"username": identifier}).status_code == 302
        assert 0.3 <= time.monotonic() - started < 1.5


def test_wrong_codes_are_limited_and_count_across_new_codes(client, settings):
    settings.PORTAL_RATE_LIMITS = {
        **settings.PORTAL_RATE_LIMITS,
        "password_reset": ("20/10m", "50/10m"),
    }
    customer, _, _ = customer_with_account()
    wrong = {"code": "000000", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    client.post(RESET, {"username": customer.user.username})
    for _ in range(3):
        response = client.post(RESET_CODE, wrong)
        assert response.status_code == 200
        with translation.override("zh-hans"):
            assert translation.gettext("This code is not correct.") in response.content.decode()
    # A new code does not reset the count: two more wrong ones end it.
    client.post(RESET, {"username": customer.user.username})
    code = _code_sent_to(customer.user)
    client.post(RESET_CODE, wrong)
    response = client.post(RESET_CODE, wrong)
    assert 'data-testid="ask-again"' in response.content.decode()
    # The ticket is gone: even the right code opens nothing now.
    response = client.post(
        RESET_CODE, {"code": code, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == RESET
    assert User.objects.get(pk=customer.user.pk).check_password(PASSWORD)


def test_reset_codes_expire(client):
    customer, _, _ = customer_with_account()
    client.post(RESET, {"username": customer.user.username})
    code = _code_sent_to(customer.user)
    ticket = client.session["password_reset"]["ticket"]
    from django.core.cache import cache

    cache.delete(passwords._ticket_key(ticket))  # what the cache's TTL does after 15 minutes
    response = client.post(
        RESET_CODE, {"code": code, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 200
    assert 'data-testid="ask-again"' in response.content.decode()
    assert User.objects.get(pk=customer.user.pk).check_password(PASSWORD)


def test_codes_a_day_are_capped(client):
    customer, _, _ = customer_with_account()
    for _ in range(passwords.PASSWORD_RESET_MAX_SENDS_PER_DAY + 2):
        passwords.password_reset_request(identifier=customer.user.username)
    sent = Notice.objects.filter(event="accounts.password_reset_code", recipient=customer.user)
    assert sent.count() == passwords.PASSWORD_RESET_MAX_SENDS_PER_DAY


def test_reset_code_field_errors_are_chinese_not_djangos_generic_ones(client):
    customer, _, _ = customer_with_account()
    client.post(RESET, {"username": customer.user.username})
    response = client.post(
        RESET_CODE, {"code": "12", "new_password1": NEW_PASSWORD, "new_password2": "other-pass-1"}
    )
    body = response.content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("Enter the 6-digit code we sent you.") in body
        assert translation.gettext("The two new passwords are not the same.") in body
    assert "Ensure this value" not in body and "确保该值" not in body


def test_reset_is_rate_limited_per_name(client, settings):
    settings.PORTAL_RATE_LIMITS = {
        **settings.PORTAL_RATE_LIMITS,
        "password_reset": ("2/10m", "50/10m"),
    }
    customer_with_account(username="limited-one")
    assert client.post(RESET, {"username": "limited-one"}).status_code == 302
    assert client.post(RESET, {"username": "limited-one"}).status_code == 302
    assert client.post(RESET, {"username": "limited-one"}).status_code == 429
    assert client.post(RESET, {"username": "someone-else"}).status_code == 302


def test_reset_refuses_nul_and_huge_input_with_a_field_error(client):
    response = client.post(RESET, {"username": "a" * 10_000})
    assert response.status_code == 200
    assert 'data-testid="field-error-username"' in response.content.decode()
    response = client.post(RESET, {"username": "ab\x00cd"})
    assert response.status_code == 200
    assert 'data-testid="field-error-username"' in response.content.decode()


# --- After "my account may be compromised" ------------------------------------------------------


def test_compromised_account_lands_on_a_page_that_leads_to_a_new_password():
    customer, account, _ = customer_with_account()
    client = _signed_in(customer)
    response = client.post(
        "/portal/complaints/new/",
        {
            "category": "other",
            "account": account.pk,
            "description": "有人用我的账户借了钱",
            "account_compromised": "on",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/account-secured/?complaint=")
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert SESSION_KEY not in client.session  # signed out, this session included
    assert 'href="/portal/login/?next=/portal/password/"' in body
    assert 'href="/portal/password-reset/"' in body
    reference = response["Location"].rsplit("=", 1)[1]
    assert reference in body
    account.refresh_from_db()
    assert account.status == "frozen"


def test_secured_page_shows_only_a_reference_shaped_value(client):
    body = client.get("/portal/account-secured/?complaint=<script>x</script>").content.decode()
    assert "<script>x" not in body and "&lt;script&gt;" not in body
