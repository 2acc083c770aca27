from decimal import Decimal

import pytest

from accounts import services
from accounts.enums import AuthMethod, LoanChannel, LoanKind, LoanStatus, RepaymentChannel
from accounts.models import CreditAccount, LoanRecord
from tests.factories import CreditAccountFactory

pytestmark = pytest.mark.django_db


def test_loan_then_repayment_moves_balances_together_with_history(system_user):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    loan = services.loan_record(
        actor=system_user,
        reason="purchase at checkout",
        account_id=account.pk,
        amount=Decimal("300.00"),
        kind=LoanKind.PURCHASE,
        channel=LoanChannel.APP,
        merchant="京东自营",
        authorization=services.AuthorizationInput(method=AuthMethod.SMS_CODE, channel="app"),
    )
    account.refresh_from_db()
    assert (account.outstanding_balance, account.available_credit) == (
        Decimal("300.00"),
        Decimal("700.00"),
    )
    assert loan.authorization_events.count() == 1

    services.repayment_record(
        actor=system_user,
        reason="card repayment",
        account_id=account.pk,
        amount=Decimal("300.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    account.refresh_from_db()
    loan.refresh_from_db()
    assert account.outstanding_balance == Decimal("0.00")
    assert account.available_credit == Decimal("1000.00")
    assert loan.status == LoanStatus.REPAID
    last = LoanRecord.history.filter(id=loan.pk).latest("history_id")
    assert last.history_user == system_user
    assert last.history_change_reason == "card repayment"
    acc_hist = CreditAccount.history.filter(id=account.pk).latest("history_id")
    assert acc_hist.history_change_reason == "card repayment"
