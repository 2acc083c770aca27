"""Customer closure: one-time code required, expiring, throttled, not reusable; withdrawal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from accounts.enums import AccountStatus, RepaymentChannel
from accounts.services import repayment_record
from closures import services
from closures.enums import ClosureEventKind, ClosureStatus
from closures.models import ClosureRequest, CustomerOtpDevice
from core.errors import ApplicationError
from tests.factories import CreditAccountFactory
from tests.factories.closures import account_with_balance, sent_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    return CreditAccountFactory()


def _request(account):
    return services.closure_request_by_customer(actor=account.customer.user, account_id=account.pk)


def test_request_sends_a_hashed_code_by_sms_only(account):
    closure = _request(account)
    assert closure.status == ClosureStatus.AWAITING_CONFIRMATION
    code = sent_code(account.customer.user)
    device = CustomerOtpDevice.objects.get(user=account.customer.user)
    assert device.token is None and code not in device.token_hash and len(device.token_hash) == 64
    kinds = list(closure.events.values_list("kind", flat=True))
    assert kinds == [ClosureEventKind.REQUESTED, ClosureEventKind.CODE_SENT]


def test_confirm_with_code_approves_and_code_is_not_reusable(account):
    user = account.customer.user
    closure = _request(account)
    code = sent_code(user)
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert closure.status == ClosureStatus.APPROVED
    assert closure.effective_at is not None
    h = closure.history.first()
    assert h.history_user_id == user.pk
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert exc.value.code == "invalid_closure_transition"
    device = CustomerOtpDevice.objects.get(user=user)
    assert device.token_hash == "" and device.purpose == ""  # the code is consumed


def test_wrong_code_refused_and_attempts_limited(account, settings):
    settings.CLOSURE_OTP_MAX_ATTEMPTS = 3
    user = account.customer.user
    closure = _request(account)
    code = sent_code(user)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(2):
        with pytest.raises(ApplicationError) as exc:
            services.closure_confirm(actor=user, closure_id=closure.pk, otp=wrong)
        assert exc.value.code == "otp_invalid" and exc.value.status == 400
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.AWAITING_CONFIRMATION and closure.code_failures == 2
    # The third wrong try reaches the cap: the request is cancelled, the right code is dead.
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=wrong)
    assert exc.value.code == "otp_locked"
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.WITHDRAWN
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert exc.value.code == "invalid_closure_transition"


def test_code_expires(account):
    user = account.customer.user
    closure = _request(account)
    code = sent_code(user)
    device = CustomerOtpDevice.objects.get(user=user)
    device.valid_until = timezone.now() - timedelta(seconds=1)
    device.save(update_fields=["valid_until"])
    with pytest.raises(ApplicationError) as exc:
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)
    assert exc.value.code == "otp_expired"


def test_resend_is_throttled(account):
    user = account.customer.user
    closure = _request(account)
    with pytest.raises(ApplicationError) as exc:
        services.closure_code_resend(actor=user, closure_id=closure.pk)
    assert exc.value.code == "throttled" and exc.value.status == 429
    device = CustomerOtpDevice.objects.get(user=user)
    device.last_generated_timestamp = timezone.now() - timedelta(minutes=2)
    device.save(update_fields=["last_generated_timestamp"])
    first = sent_code(user)
    services.closure_code_resend(actor=user, closure_id=closure.pk)
    second = sent_code(user)
    # The first code is dead once a new one is issued (unless they happen to coincide).
    if first != second:
        with pytest.raises(ApplicationError):
            services.closure_confirm(actor=user, closure_id=closure.pk, otp=first)
    services.closure_confirm(actor=user, closure_id=closure.pk, otp=second)


def test_code_of_one_closure_does_not_confirm_another(account):
    user = account.customer.user
    closure = _request(account)
    code = sent_code(user)
    other = CreditAccountFactory(customer=account.customer)
    device = CustomerOtpDevice.objects.get(user=user)
    device.last_generated_timestamp = timezone.now() - timedelta(minutes=2)
    device.save(update_fields=["last_generated_timestamp"])
    services.closure_request_by_customer(actor=user, account_id=other.pk)
    with pytest.raises(ApplicationError):
        services.closure_confirm(actor=user, closure_id=closure.pk, otp=code)


def test_another_customers_account_is_404(account):
    stranger = CreditAccountFactory()
    with pytest.raises(Http404):
        services.closure_request_by_customer(actor=stranger.customer.user, account_id=account.pk)


def test_one_open_closure_per_account(account):
    _request(account)
    with pytest.raises(ApplicationError) as exc:
        _request(account)
    assert exc.value.code == "closure_exists"
    assert ClosureRequest.objects.filter(account=account).count() == 1


def test_withdraw_until_it_takes_effect(account, system_user):
    user = account.customer.user
    closure = _request(account)
    services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    closure = services.closure_withdraw(actor=user, closure_id=closure.pk, reason="changed mind")
    assert closure.status == ClosureStatus.WITHDRAWN
    assert services.closures_take_effect(actor=system_user) == 0
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_cannot_withdraw_after_it_took_effect(system_user):
    account = account_with_balance(actor=system_user, balance=Decimal("100.00"))
    user = account.customer.user
    closure = _request(account)
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    assert services.closures_take_effect(actor=system_user, now=closure.effective_at) == 1
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.CLOSING
    with pytest.raises(ApplicationError) as exc:
        services.closure_withdraw(actor=user, closure_id=closure.pk, reason="too late")
    assert exc.value.code == "invalid_closure_transition"


def test_closing_then_closed_when_balance_repaid(system_user):
    account = account_with_balance(actor=system_user, balance=Decimal("100.00"))
    user = account.customer.user
    closure = _request(account)
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    services.closures_take_effect(actor=system_user, now=closure.effective_at)
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSING
    assert account.credit_limit == 0 and account.available_credit == 0
    repayment_record(
        actor=system_user,
        reason="test",
        account_id=account.pk,
        amount=Decimal("40.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSING
    repayment_record(
        actor=system_user,
        reason="test",
        account_id=account.pk,
        amount=Decimal("60.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    account.refresh_from_db()
    closure.refresh_from_db()
    assert account.status == AccountStatus.CLOSED and account.closed_at is not None
    assert closure.status == ClosureStatus.CLOSED


def test_zero_balance_closes_at_once(account, system_user):
    user = account.customer.user
    closure = _request(account)
    closure = services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    services.closures_take_effect(actor=system_user, now=closure.effective_at)
    account.refresh_from_db()
    closure.refresh_from_db()
    assert account.status == AccountStatus.CLOSED
    assert closure.status == ClosureStatus.CLOSED
