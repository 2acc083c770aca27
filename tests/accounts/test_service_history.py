"""Each accounts service writes exactly one history row per model it changes, carrying the acting
user and the reason, and refuses the states it must refuse (writing nothing then)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from accounts import locks, services
from accounts.enums import (
    AccountStatus,
    AuthMethod,
    LoanChannel,
    LoanKind,
    RepaymentChannel,
    RiskSignalKind,
    Severity,
)
from accounts.models import (
    AuthorizationEvent,
    CreditAccount,
    Customer,
    LoanRecord,
    Repayment,
    RiskSignal,
    User,
)
from core.errors import ApplicationError
from tests.accounts.history import HistoryProbe
from tests.accounts.history import assert_last_history as _assert_last
from tests.factories import CreditAccountFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(db) -> User:
    return UserFactory(username="agent-actor", is_staff=True)


def _loan(actor: User, account: CreditAccount, amount: str = "300.00") -> LoanRecord:
    return services.loan_record(
        actor=actor,
        reason="setup loan",
        account_id=account.pk,
        amount=Decimal(amount),
        kind=LoanKind.PURCHASE,
        channel=LoanChannel.APP,
        merchant="京东自营",
    )


def test_customer_create_writes_user_and_customer_history(actor):
    probe = HistoryProbe()
    customer = services.customer_create(
        actor=actor,
        reason="branch onboarding",
        username="zhangsan",
        password=None,
        name="张三",
        national_id="110105199001010011",
        phone="13812345678",
    )
    assert probe.new_rows() == {"User": 1, "Customer": 1}
    _assert_last(User, customer.user_id, actor, "branch onboarding")
    _assert_last(Customer, customer.pk, actor, "branch onboarding")
    assert not customer.user.has_usable_password()


def test_customer_create_refuses_a_registered_national_id(actor):
    CustomerFactory(national_id="110105199001010011")
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc:
        services.customer_create(
            actor=actor,
            reason="again",
            username="dup",
            password=None,
            name="李四",
            national_id="110105199001010011",
            phone="13900000000",
        )
    assert exc.value.code == "duplicate_customer"
    assert probe.new_rows() == {}


def test_account_open_writes_one_account_row(actor):
    customer = CustomerFactory()
    probe = HistoryProbe()
    account = services.account_open(
        actor=actor, reason="approved application", customer=customer, credit_limit=Decimal("8000")
    )
    assert probe.new_rows() == {"CreditAccount": 1}
    _assert_last(CreditAccount, account.pk, actor, "approved application")
    assert account.available_credit == Decimal("8000")


def test_loan_record_writes_loan_event_and_account_rows(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    probe = HistoryProbe()
    loan = services.loan_record(
        actor=actor,
        reason="checkout",
        account_id=account.pk,
        amount=Decimal("250.00"),
        kind=LoanKind.PURCHASE,
        channel=LoanChannel.APP,
        authorization=services.AuthorizationInput(
            method=AuthMethod.SMS_CODE, channel=LoanChannel.APP, ip_address="10.0.0.1"
        ),
    )
    assert probe.new_rows() == {"LoanRecord": 1, "AuthorizationEvent": 1, "CreditAccount": 1}
    _assert_last(LoanRecord, loan.pk, actor, "checkout")
    _assert_last(CreditAccount, account.pk, actor, "checkout")
    event = loan.authorization_events.get()
    _assert_last(AuthorizationEvent, event.pk, actor, "checkout")


def test_loan_refused_on_a_frozen_account_and_over_the_limit(actor):
    account = CreditAccountFactory(credit_limit=Decimal("100.00"))
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc:
        _loan(actor, account, "100.01")
    assert exc.value.code == "insufficient_credit"
    account.status = AccountStatus.FROZEN
    account.save()
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc:
        _loan(actor, account, "10.00")
    assert exc.value.code == "account_not_lending"
    assert probe.new_rows() == {}
    assert not LoanRecord.objects.filter(account=account).exists()


def test_repayment_writes_loan_repayment_and_account_rows(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    loan = _loan(actor, account)
    probe = HistoryProbe()
    repayment = services.repayment_record(
        actor=actor,
        reason="card repayment",
        account_id=account.pk,
        amount=Decimal("100.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    assert probe.new_rows() == {"LoanRecord": 1, "Repayment": 1, "CreditAccount": 1}
    for model, pk in (
        (LoanRecord, loan.pk),
        (Repayment, repayment.pk),
        (CreditAccount, account.pk),
    ):
        _assert_last(model, pk, actor, "card repayment")


def test_repayment_over_the_balance_is_refused(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    _loan(actor, account, "300.00")
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc:
        services.repayment_record(
            actor=actor,
            reason="too much",
            account_id=account.pk,
            amount=Decimal("300.01"),
            channel=RepaymentChannel.BANK_CARD,
        )
    assert exc.value.code == "overpayment"
    assert probe.new_rows() == {}
    account.refresh_from_db()
    assert account.outstanding_balance == Decimal("300.00")


def test_freeze_and_unfreeze_write_one_row_each(actor):
    account = CreditAccountFactory()
    probe = HistoryProbe()
    services.account_freeze(actor=actor, reason="suspicious login", account_id=account.pk)
    assert probe.new_rows() == {"CreditAccount": 1}
    _assert_last(CreditAccount, account.pk, actor, "suspicious login")
    probe = HistoryProbe()
    services.account_unfreeze(actor=actor, reason="cleared", account_id=account.pk)
    assert probe.new_rows() == {"CreditAccount": 1}
    _assert_last(CreditAccount, account.pk, actor, "cleared")
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc:
        services.account_unfreeze(actor=actor, reason="again", account_id=account.pk)
    assert exc.value.code == "not_frozen"
    assert probe.new_rows() == {}


def test_freezing_a_closed_account_is_refused(actor):
    account = CreditAccountFactory(status=AccountStatus.CLOSED, closed_at=timezone.now())
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc:
        services.account_freeze(actor=actor, reason="hold", account_id=account.pk)
    assert exc.value.code == "invalid_account_transition"
    assert probe.new_rows() == {}
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSED


def test_account_set_status_writes_one_row_and_checks_transitions(actor):
    account = CreditAccountFactory()
    probe = HistoryProbe()
    with transaction.atomic():
        locked = locks.account_for_update(account_id=account.pk)
        services.account_set_status(
            account=locked, new_status=AccountStatus.CLOSED, actor=actor, reason="closure effective"
        )
    assert probe.new_rows() == {"CreditAccount": 1}
    _assert_last(CreditAccount, account.pk, actor, "closure effective")
    account.refresh_from_db()
    assert account.closed_at is not None
    with pytest.raises(ApplicationError), transaction.atomic():
        locked = locks.account_for_update(account_id=account.pk)
        services.account_set_status(
            account=locked, new_status=AccountStatus.FROZEN, actor=actor, reason="no"
        )


def test_risk_signal_raise_writes_one_signal_row(actor):
    account = CreditAccountFactory()
    probe = HistoryProbe()
    signal = services.risk_signal_raise(
        actor=actor,
        reason="risk engine",
        account_id=account.pk,
        kind=RiskSignalKind.OVERDUE,
        severity=Severity.HIGH,
    )
    assert probe.new_rows() == {"RiskSignal": 1}
    _assert_last(RiskSignal, signal.pk, actor, "risk engine")
    assert signal.raised_by_id == actor.pk


def test_user_sessions_revoke_writes_one_user_row(actor):
    user = UserFactory()
    old_stamp = user.security_stamp
    probe = HistoryProbe()
    services.user_sessions_revoke(user=user, actor=actor, reason="account compromised")
    assert probe.new_rows() == {"User": 1}
    _assert_last(User, user.pk, actor, "account compromised")
    user.refresh_from_db()
    assert user.security_stamp != old_stamp
