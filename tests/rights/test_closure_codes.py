"""The customer's closure codes and the closure's timing (issue 14 items 6 and 12, issue 12 item 9,
issue 13 item 11): wrong tries counted across resends, sends capped per request and per day,
a code never delivered expired, the error in the request's language, the closure taking effect
at the end of the confirmation day (Asia/Shanghai), and the portal pages that show it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.enums import AccountStatus
from closures import services
from closures.enums import ClosureEventKind, ClosureStatus
from closures.models import ClosureEvent, ClosureRequest, CustomerOtpDevice
from closures.services.customer_request import (
    CANCELLED_REASON,
    CODE_SENT_REASON,
    WRONG_CODE_REASON,
)
from closures.sweeps import closures_sweep
from core.errors import ApplicationError
from core.tokens import token_issue
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.services import notice_send
from tests.factories import CreditAccountFactory
from tests.factories.closures import proposed, sent_code

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def account(db):
    return CreditAccountFactory()


def _request(account, **kwargs) -> ClosureRequest:
    return services.closure_request_by_customer(
        actor=account.customer.user, account_id=account.pk, **kwargs
    )


def _cooldown_passed(user) -> None:
    """The resend cooldown (60 s) is over: moved back in the database, not mocked."""
    CustomerOtpDevice.objects.filter(user=user).update(
        last_generated_timestamp=timezone.now() - timedelta(minutes=2)
    )


def _wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def _api(user) -> APIClient:
    client = APIClient()
    _row, token = token_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- 14.6: wrong tries count across resends ---------------------------------------------------


def test_a_resend_does_not_reset_the_wrong_tries_and_the_cap_cancels_the_request(account, settings):
    settings.CLOSURE_OTP_MAX_ATTEMPTS = 4
    user = account.customer.user
    closure = _request(account)
    wrong = _wrong(sent_code(user))
    for _ in range(2):
        with pytest.raises(ApplicationError) as exc:
            services.closure_confirm(actor=user, closure_id=closure.pk, otp=wrong)
        assert exc.value.code == "otp_invalid"
    _cooldown_passed(user)
    services.closure_code_resend(actor=user, closure_id=closure.pk)
    fresh = sent_code(user)
    wrong = _wrong(fresh)
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=wrong)
    assert exc.value.code == "otp_invalid"
    closure.refresh_from_db()
    assert closure.code_failures == 3  # 2 before the resend + 1 after: nothing was reset
    assert closure.status == ClosureStatus.AWAITING_CONFIRMATION

    # The fourth wrong try over both codes reaches the cap: the request is cancelled.
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=wrong)
    assert exc.value.code == "otp_locked" and exc.value.status == 400
    assert exc.value.fields["otp"] == [str(exc.value.message)]
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.WITHDRAWN and closure.ended_at is not None
    assert closure.code_failures == 4
    assert closure.decided_by.username == "system:closure-codes"

    # Events: requested, two codes sent, then withdrawn with the reason; no confirmation.
    kinds = list(closure.events.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds == [
        ClosureEventKind.REQUESTED,
        ClosureEventKind.CODE_SENT,
        ClosureEventKind.CODE_SENT,
        ClosureEventKind.WITHDRAWN,
    ]
    withdrawn = closure.events.get(kind=ClosureEventKind.WITHDRAWN)
    assert withdrawn.reason == CANCELLED_REASON
    assert (withdrawn.old_status, withdrawn.new_status) == ("awaiting_confirmation", "withdrawn")

    # History: each wrong try by the customer with its reason; the cancellation by the system.
    wrong_rows = closure.history.filter(history_change_reason=WRONG_CODE_REASON)
    assert wrong_rows.count() == 4
    assert set(wrong_rows.values_list("history_user_id", flat=True)) == {user.pk}
    assert sorted(wrong_rows.values_list("code_failures", flat=True)) == [1, 2, 3, 4]
    last = closure.history.first()
    assert last.status == "withdrawn" and last.history_change_reason == CANCELLED_REASON
    assert last.history_user.username == "system:closure-codes"

    # Refused from here: the right code, a resend; the code itself is dead.
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=fresh)
    assert exc.value.code == "invalid_closure_transition"
    _cooldown_passed(user)
    with pytest.raises(ApplicationError) as exc:
        services.closure_code_resend(actor=user, closure_id=closure.pk)
    assert exc.value.code == "invalid_closure_transition"
    assert CustomerOtpDevice.objects.get(user=user).token_hash == ""
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    # A new request may be made (subject to the daily cap).
    assert _request(account).status == ClosureStatus.AWAITING_CONFIRMATION


def test_the_code_of_a_request_is_counted_only_on_that_request(account, settings):
    settings.CLOSURE_OTP_MAX_ATTEMPTS = 2
    user = account.customer.user
    closure = _request(account)
    code = sent_code(user)
    with pytest.raises(ApplicationError):
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=_wrong(code))
    # One wrong try left; the right code still confirms.
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert closure.status == ClosureStatus.APPROVED and closure.code_failures == 1


# --- 14.6: sends capped per request and per day -------------------------------------------------


def test_sends_are_capped_per_request(account, settings):
    settings.CLOSURE_CODE_MAX_SENDS = 2
    user = account.customer.user
    closure = _request(account)
    _cooldown_passed(user)
    services.closure_code_resend(actor=user, closure_id=closure.pk)
    notices = Notice.objects.filter(recipient=user, event="closure.code").count()
    _cooldown_passed(user)
    with pytest.raises(ApplicationError) as exc:
        services.closure_code_resend(actor=user, closure_id=closure.pk)
    assert exc.value.code == "otp_send_limit" and exc.value.status == 429
    assert Notice.objects.filter(recipient=user, event="closure.code").count() == notices == 2
    closure.refresh_from_db()
    assert closure.code_sends == 2 and closure.code_channel == "sms"
    assert closure.events.filter(kind=ClosureEventKind.CODE_SENT).count() == 2
    sends = closure.history.filter(history_change_reason=CODE_SENT_REASON)
    assert set(sends.values_list("history_user_id", flat=True)) == {user.pk}
    assert sorted(sends.values_list("code_sends", flat=True)) == [1, 2]


def test_sends_are_capped_per_customer_and_day(settings):
    settings.CLOSURE_CODE_MAX_SENDS_PER_DAY = 2
    first = CreditAccountFactory()
    user = first.customer.user
    second = CreditAccountFactory(customer=first.customer)
    third = CreditAccountFactory(customer=first.customer)
    _request(first)
    _cooldown_passed(user)
    _request(second)
    _cooldown_passed(user)
    with pytest.raises(ApplicationError) as exc:
        _request(third)
    assert exc.value.code == "otp_daily_limit" and exc.value.status == 429
    # Refused whole: no request, no code, no event for the third account.
    assert not ClosureRequest.objects.filter(account=third).exists()
    assert Notice.objects.filter(recipient=user, event="closure.code").count() == 2
    # A resend of an open request counts against the same day.
    closure = ClosureRequest.objects.get(account=first)
    with pytest.raises(ApplicationError) as exc:
        services.closure_code_resend(actor=user, closure_id=closure.pk)
    assert exc.value.code == "otp_daily_limit"
    # The next local day the customer may ask again.
    yesterday = timezone.localdate() - timedelta(days=1)
    CustomerOtpDevice.objects.filter(user=user).update(sends_on=yesterday)
    services.closure_code_resend(actor=user, closure_id=closure.pk)
    device = CustomerOtpDevice.objects.get(user=user)
    assert device.sends_on == timezone.localdate() and device.sends_that_day == 1


def test_api_answers_the_caps_with_the_error_body_in_the_callers_language(settings):
    settings.CLOSURE_CODE_MAX_SENDS = 1
    settings.CLOSURE_CODE_MAX_SENDS_PER_DAY = 1
    account = CreditAccountFactory()
    other = CreditAccountFactory(customer=account.customer)
    client = _api(account.customer.user)
    r = client.post("/api/v1/closures/", {"account": account.pk}, format="json")
    assert r.status_code == 202, r.content
    closure_id = r.json()["id"]
    _cooldown_passed(account.customer.user)
    r = client.post(
        f"/api/v1/closures/{closure_id}/resend/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 429
    error = r.json()["error"]
    assert error["code"] == "otp_send_limit" and "most codes one request allows" in error["message"]
    settings.CLOSURE_CODE_MAX_SENDS = 5
    r = client.post(
        "/api/v1/closures/", {"account": other.pk}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert r.status_code == 429 and r.json()["error"]["code"] == "otp_daily_limit"
    assert "try again tomorrow" in r.json()["error"]["message"]
    assert not ClosureRequest.objects.filter(account=other).exists()
    r = client.post(f"/api/v1/closures/{closure_id}/resend/", {"channel": "fax"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"


def test_portal_resend_over_the_cap_is_a_message_not_an_sms(account, settings, client, login_as):
    settings.CLOSURE_CODE_MAX_SENDS = 1
    user = account.customer.user
    closure = _request(account)
    login_as(user)
    _cooldown_passed(user)
    r = client.post(f"/portal/closures/{closure.pk}/resend/?lang=en", follow=True)
    assert r.status_code == 200
    body = r.content.decode()
    assert "most codes one request allows" in body
    assert 'data-testid="no-more-codes"' in body and 'data-testid="resend-code"' not in body
    assert Notice.objects.filter(recipient=user, event="closure.code").count() == 1


def test_portal_wrong_code_at_the_cap_shows_the_cancelled_request(
    account, settings, client, login_as
):
    settings.CLOSURE_OTP_MAX_ATTEMPTS = 1
    user = account.customer.user
    closure = _request(account)
    login_as(user)
    r = client.post(
        f"/portal/closures/{closure.pk}/confirm/?lang=en",
        {"otp": _wrong(sent_code(user))},
        follow=True,
    )
    assert r.redirect_chain[-1][0] == f"/portal/closures/{closure.pk}/"
    body = r.content.decode()
    assert "this request is cancelled" in body
    assert 'data-testid="closure-status">Withdrawn<' in body


# --- 14.12: a code is never delivered expired -----------------------------------------------------


def test_the_code_notice_expires_with_the_code_and_the_code_dies_with_it(account):
    user = account.customer.user
    closure = _request(account)
    device = CustomerOtpDevice.objects.get(user=user)
    notice = Notice.objects.get(recipient=user, event="closure.code")
    assert notice.expires_at == device.valid_until  # the notice knows the code's expiry
    code = sent_code(user)
    # The broker was down: the code's validity has run out before a worker got to it.
    late = timezone.now() - timedelta(seconds=1)
    Notice.objects.filter(pk=notice.pk).update(expires_at=late)
    CustomerOtpDevice.objects.filter(pk=device.pk).update(valid_until=late)
    assert notice_send(notice_id=notice.pk).status == "expired"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.EXPIRED and notice.sent_at is None
    device.refresh_from_db()
    assert device.token_hash == ""  # the hook killed the code
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert exc.value.code == "otp_missing"  # "ask for a new one"
    # A new code can be asked for at once and goes out with its own expiry.
    _cooldown_passed(user)
    services.closure_code_resend(actor=user, closure_id=closure.pk)
    latest = Notice.objects.filter(recipient=user, event="closure.code").latest("pk")
    assert latest.status == NoticeStatus.PENDING and latest.expires_at > timezone.now()


def test_an_expired_old_code_notice_leaves_the_newer_code_alone(account):
    user = account.customer.user
    closure = _request(account)
    old = Notice.objects.get(recipient=user, event="closure.code")
    _cooldown_passed(user)
    services.closure_code_resend(actor=user, closure_id=closure.pk)
    code = sent_code(user)
    Notice.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert notice_send(notice_id=old.pk).status == "expired"
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert closure.status == ClosureStatus.APPROVED


# --- 12.9: the wrong-code error in the request's language ----------------------------------------


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "验证码不正确。"),
        ("zh-CN", "验证码不正确。"),
        ("en", "The code is not correct."),
    ],
)
def test_api_wrong_code_error_is_in_the_callers_language(account, language, expected):
    client = _api(account.customer.user)
    closure_id = client.post("/api/v1/closures/", {"account": account.pk}, format="json").json()[
        "id"
    ]
    wrong = _wrong(sent_code(account.customer.user))
    r = client.post(
        f"/api/v1/closures/{closure_id}/confirm/",
        {"otp": wrong},
        format="json",
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "otp_invalid"
    assert error["message"] == expected and error["fields"] == {"otp": [expected]}


def test_portal_wrong_code_error_is_in_the_pages_language(account, client, login_as):
    user = account.customer.user
    closure = _request(account)
    wrong = _wrong(sent_code(user))
    login_as(user)
    body = client.post(f"/portal/closures/{closure.pk}/confirm/", {"otp": wrong}).content
    assert "验证码不正确。" in body.decode() and "The code is not correct." not in body.decode()
    body = client.post(f"/portal/closures/{closure.pk}/confirm/?lang=en", {"otp": wrong}).content
    assert "The code is not correct." in body.decode()


# --- 12.9: the customer's closure takes effect at the end of the confirmation day ----------------


@pytest.mark.parametrize(
    ("confirmed", "effective"),
    [
        (datetime(2026, 12, 1, 0, 0, 1, tzinfo=SHANGHAI), datetime(2026, 12, 2, tzinfo=SHANGHAI)),
        (datetime(2026, 12, 1, 15, 30, tzinfo=SHANGHAI), datetime(2026, 12, 2, tzinfo=SHANGHAI)),
        # 23:59 local is 15:59 UTC: still the same Shanghai day.
        (datetime(2026, 12, 1, 15, 59, tzinfo=ZoneInfo("UTC")), datetime(2026, 12, 2, tzinfo=SHANGHAI)),
        # 16:01 UTC is already the next day in Shanghai.
        (datetime(2026, 12, 1, 16, 1, tzinfo=ZoneInfo("UTC")), datetime(2026, 12, 3, tzinfo=SHANGHAI)),
        (datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI), datetime(2027, 1, 1, tzinfo=SHANGHAI)),
    ],
)  # fmt: skip
def test_effective_at_is_the_end_of_the_local_confirmation_day(confirmed, effective):
    assert services.customer_closure_effective_at(confirmed) == effective


def test_confirmed_closure_waits_for_the_end_of_the_day_and_is_withdrawable_until_then(
    account, system_user
):
    user = account.customer.user
    closure = _request(account)
    confirmed_at = timezone.now()
    closure = services.closure_confirm(
        actor=user, closure_id=closure.pk, otp=sent_code(user), now=confirmed_at
    )
    end_of_day = datetime.combine(
        timezone.localdate(confirmed_at) + timedelta(days=1), datetime.min.time(), SHANGHAI
    )
    assert closure.status == ClosureStatus.APPROVED and closure.effective_at == end_of_day
    confirmed = closure.events.get(kind=ClosureEventKind.CONFIRMED)
    assert (confirmed.old_status, confirmed.new_status, confirmed.actor_id) == (
        "awaiting_confirmation",
        "approved",
        user.pk,
    )
    # The minute sweep before midnight leaves it alone (it used to apply it at once).
    assert closures_sweep(now=end_of_day - timedelta(seconds=1))["took_effect"] == 0
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.APPROVED
    # The confirmation notice states the time.
    notice = Notice.objects.filter(recipient=user, event="closure.requested").first()
    assert notice is not None and f"{end_of_day:%Y-%m-%d %H:%M}" in notice.body
    # The sweep at midnight applies it.
    assert closures_sweep(now=end_of_day)["took_effect"] == 1
    closure.refresh_from_db()
    account.refresh_from_db()
    assert closure.status == ClosureStatus.CLOSED and account.status == AccountStatus.CLOSED
    assert closure.took_effect_at == end_of_day


def test_withdrawn_before_midnight_the_sweep_changes_nothing(account):
    user = account.customer.user
    closure = _request(account)
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    services.closure_withdraw(actor=user, closure_id=closure.pk, reason="changed my mind")
    assert closures_sweep(now=closure.effective_at + timedelta(minutes=1))["took_effect"] == 0
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_api_closure_body_carries_the_effective_time_before_and_after_confirmation(account):
    user = account.customer.user
    client = _api(user)
    r = client.post("/api/v1/closures/", {"account": account.pk}, format="json")
    assert r.status_code == 202
    created = r.json()
    assert created["status"] == "awaiting_confirmation"
    end_of_day = datetime.combine(
        timezone.localdate() + timedelta(days=1), datetime.min.time(), SHANGHAI
    )
    assert created["effective_at"] == end_of_day.isoformat()  # "…T00:00:00+08:00"
    body = client.get(f"/api/v1/closures/{created['id']}/").json()
    assert body["effective_at"] == end_of_day.isoformat()
    r = client.post(
        f"/api/v1/closures/{created['id']}/confirm/", {"otp": sent_code(user)}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert r.json()["effective_at"] == end_of_day.isoformat()
    assert ClosureRequest.objects.get(pk=created["id"]).effective_at == end_of_day


# --- 12.9 / 13.11: the portal pages -----------------------------------------------------------


def test_confirm_page_says_where_the_code_went_and_when_the_closure_would_take_effect(
    account, client, login_as
):
    user = account.customer.user
    closure = _request(account)
    login_as(user)
    phone = account.customer.phone
    masked = f"{phone[:3]}****{phone[-4:]}"
    end_of_day = datetime.combine(
        timezone.localdate() + timedelta(days=1), datetime.min.time(), SHANGHAI
    )
    for query in ("", "?lang=en"):
        body = client.get(f"/portal/closures/{closure.pk}/confirm/{query}").content.decode()
        assert masked in body and phone not in body
        assert f"{end_of_day:%Y-%m-%d %H:%M}" in body
        assert 'data-testid="effective-if-confirmed"' in body
    assert "We have sent a six-digit code to " + masked in body  # the English page
    assert "If you confirm now, the closure takes effect at the end of today" in body
    # The request page says it too, before the code is sent.
    other = CreditAccountFactory(customer=account.customer)
    body = client.get(f"/portal/accounts/{other.pk}/close/?lang=en").content.decode()
    assert f"the end of the day: {end_of_day:%Y-%m-%d %H:%M}" in body


def test_confirm_page_names_the_masked_email_when_the_code_went_by_email(account, client, login_as):
    user = account.customer.user
    user.email = "wang.fang@example.com"
    user.save(update_fields=["email"])
    closure = _request(account, channel="email")
    login_as(user)
    body = client.get(f"/portal/closures/{closure.pk}/confirm/?lang=en").content.decode()
    assert "w***@example.com" in body and "wang.fang@" not in body


def test_account_page_shows_a_pending_closure_with_its_date_and_the_withdraw_button(
    account, client, login_as
):
    user = account.customer.user
    login_as(user)
    page = f"/portal/accounts/{account.pk}/"
    body = client.get(page).content.decode()
    assert 'data-testid="pending-closure"' not in body and f"{page}close/" in body

    closure = _request(account)
    body = client.get(page + "?lang=en").content.decode()
    assert 'data-testid="pending-closure"' in body and 'data-testid="enter-code"' in body
    assert f"/portal/closures/{closure.pk}/confirm/" in body
    assert f"{page}close/" not in body  # no second request offered

    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    when = f"{timezone.localtime(closure.effective_at):%Y-%m-%d %H:%M}"
    for query, text in (("?lang=zh-hans", None), ("?lang=en", "This account will be closed at")):
        body = client.get(page + query).content.decode()
        assert 'data-testid="pending-closure-effective"' in body and when in body
        assert f'action="/portal/closures/{closure.pk}/withdraw/"' in body
        assert 'data-testid="withdraw-closure"' in body
        if text:
            assert f"{text} {when}" in body

    # The button works from here; then the block is gone and closing is offered again.
    r = client.post(f"/portal/closures/{closure.pk}/withdraw/", follow=True)
    assert r.status_code == 200
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.WITHDRAWN
    withdrawn = ClosureEvent.objects.get(closure=closure, kind=ClosureEventKind.WITHDRAWN)
    assert withdrawn.actor_id == user.pk
    body = client.get(page).content.decode()
    assert 'data-testid="pending-closure"' not in body and f"{page}close/" in body


def test_account_page_shows_a_staff_closure_in_its_notice_period_without_withdraw(
    account, client, login_as, risk_officer, reviewer
):
    closure = proposed(account=account, proposer=risk_officer)
    body_before = None
    login_as(account.customer.user)
    body_before = client.get(f"/portal/accounts/{account.pk}/").content.decode()
    assert 'data-testid="pending-closure"' not in body_before  # still under review
    services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="evidence is clear")
    closure.refresh_from_db()
    body = client.get(f"/portal/accounts/{account.pk}/?lang=en").content.decode()
    assert 'data-testid="pending-closure"' in body
    assert f"{timezone.localtime(closure.effective_at):%Y-%m-%d %H:%M}" in body
    assert 'data-testid="withdraw-closure"' not in body
    assert f"/portal/appeals/new/?closure={closure.pk}" in body
