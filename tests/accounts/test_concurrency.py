"""Two loans racing for the same available credit, and a loan racing a repayment: the account's
lock (FOR NO KEY UPDATE, accounts.locks) serialises them, so balances never go wrong."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from accounts import services
from accounts.enums import LoanChannel, LoanKind, RepaymentChannel
from accounts.models import CreditAccount, LoanRecord
from core.audit import system_actor
from core.errors import ApplicationError
from tests.factories import CreditAccountFactory


def _race(*calls: Callable[[], object]) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            call()
            outcomes.append("won")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def _loan_call(actor, account: CreditAccount, amount: str) -> Callable[[], object]:
    return lambda: services.loan_record(
        actor=actor,
        reason="race",
        account_id=account.pk,
        amount=Decimal(amount),
        kind=LoanKind.PURCHASE,
        channel=LoanChannel.APP,
    )


@pytest.mark.django_db(transaction=True)
def test_two_loans_for_the_same_credit_exactly_one_wins():
    actor = system_actor("tests")
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    outcomes = _race(_loan_call(actor, account, "700.00"), _loan_call(actor, account, "600.00"))
    assert outcomes == ["insufficient_credit", "won"]
    account.refresh_from_db()
    owed = sum(loan.amount for loan in LoanRecord.objects.filter(account=account))
    assert account.outstanding_balance == owed
    assert account.available_credit == Decimal("1000.00") - owed


@pytest.mark.django_db(transaction=True)
def test_a_loan_and_a_repayment_at_once_both_count():
    actor = system_actor("tests")
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    _loan_call(actor, account, "400.00")()
    repay = lambda: services.repayment_record(  # noqa: E731
        actor=actor,
        reason="race",
        account_id=account.pk,
        amount=Decimal("400.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    assert _race(_loan_call(actor, account, "300.00"), repay) == ["won", "won"]
    account.refresh_from_db()
    assert account.outstanding_balance == Decimal("300.00")
    assert account.available_credit == Decimal("700.00")
