"""The database itself refuses bad data, whatever code path writes it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.enums import AccountStatus
from accounts.models import Customer, Repayment
from core import crypto
from tests.factories import (
    CreditAccountFactory,
    CustomerFactory,
    LoanRecordFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _refused(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_negative_and_zero_amounts_are_refused():
    account = CreditAccountFactory()
    _refused(lambda: LoanRecordFactory(account=account, amount=Decimal("-1.00")))
    _refused(lambda: LoanRecordFactory(account=account, amount=Decimal("0.00")))
    _refused(
        lambda: LoanRecordFactory(
            account=account, amount=Decimal("10.00"), outstanding_amount=Decimal("-0.01")
        )
    )
    _refused(
        lambda: LoanRecordFactory(
            account=account, amount=Decimal("10.00"), outstanding_amount=Decimal("10.01")
        )
    )
    _refused(lambda: LoanRecordFactory(account=account, fees=Decimal("-1.00")))
    _refused(
        lambda: Repayment.objects.create(
            reference="RPNEG", account=account, amount=Decimal("-5.00"), channel="bank_card"
        )
    )
    _refused(lambda: CreditAccountFactory(credit_limit=Decimal("-100.00")))
    _refused(lambda: CreditAccountFactory(outstanding_balance=Decimal("-1.00")))


def test_available_credit_below_zero_is_refused():
    _refused(
        lambda: CreditAccountFactory(
            credit_limit=Decimal("100.00"), available_credit=Decimal("-0.01")
        )
    )


def test_closed_account_needs_a_closing_date_and_status_must_be_known():
    _refused(lambda: CreditAccountFactory(status=AccountStatus.CLOSED, closed_at=None))
    _refused(lambda: CreditAccountFactory(status="dormant"))


def test_duplicate_account_number_and_loan_reference_are_refused():
    account = CreditAccountFactory(number="6200000000000042")
    _refused(lambda: CreditAccountFactory(number="6200000000000042"))
    LoanRecordFactory(account=account, reference="LNDUP0001")
    _refused(lambda: LoanRecordFactory(account=account, reference="LNDUP0001"))


def test_duplicate_national_id_is_refused_whatever_its_spelling():
    CustomerFactory(national_id="11010519900101001X")
    # Same number, other spelling: the blind index normalizes it, so the unique index bites.
    _refused(
        lambda: CustomerFactory(
            national_id="110105 19900101 001x",
            national_id_index=crypto.blind_index("110105 19900101 001x"),
        )
    )


def test_second_customer_for_the_same_login_is_refused():
    user = UserFactory()
    CustomerFactory(user=user)
    _refused(lambda: CustomerFactory(user=user))
    assert Customer.objects.filter(user=user).count() == 1
