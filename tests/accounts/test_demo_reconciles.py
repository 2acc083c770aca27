"""The whole demo reconciles (issue 12 item 3): every loan has its schedule, every repaid loan
the repayments that paid it, and each account's outstanding balance is what its ledger says:

    outstanding = Σ (loan amounts + fees charged) − repayments − reversals − credits applied

Fees are recorded on a loan but `loan_record` does not charge them to the balance, so the fees
term is what was charged: zero. Reversals are what each reversed loan still owed when it was
reversed (its amount less what was repaid on it); credits applied come from the account's credit
entries (accounts.services.credits)."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q, Sum

from accounts.enums import LoanStatus
from accounts.models import (
    AccountDelinquency,
    CreditAccount,
    Installment,
    LoanRecord,
    Repayment,
    RepaymentAllocation,
)

pytestmark = pytest.mark.django_db
ZERO = Decimal("0.00")
FEES_CHARGED = ZERO  # loan_record charges the amount only


def _credits_applied() -> dict[int, Decimal]:
    try:
        from accounts.models import AccountCredit
    except ImportError:  # before booked credits existed: nothing was applied
        return {}
    rows = AccountCredit.objects.values("account_id").annotate(t=Sum("applied_amount"))
    return {r["account_id"]: r["t"] or ZERO for r in rows}


def _sums(model, field: str, key: str = "account_id", **filters) -> dict[int, Decimal]:
    rows = model.objects.filter(**filters).values(key).annotate(t=Sum(field))
    return {r[key]: r["t"] or ZERO for r in rows}


@pytest.fixture
def demo():
    call_command(
        "seed_demo", customers=60, loans_per_account=3, seed=11, no_progress=True,
        stdout=StringIO(),
    )  # fmt: skip


def test_outstanding_reconciles_on_every_demo_account(demo):
    loans = _sums(LoanRecord, "amount")
    repaid = _sums(Repayment, "amount")
    credits = _credits_applied()
    repaid_per_loan = _sums(RepaymentAllocation, "amount", key="installment__loan_id")
    reversals: dict[int, Decimal] = {}
    for loan in LoanRecord.objects.filter(status=LoanStatus.REVERSED):
        written_off = loan.amount - repaid_per_loan.get(loan.pk, ZERO)
        reversals[loan.account_id] = reversals.get(loan.account_id, ZERO) + written_off
    accounts = list(CreditAccount.objects.all())
    assert len(accounts) == 68  # alice, bob, the incident walk's six, 60 bulk customers
    for account in accounts:
        expected = (
            loans.get(account.pk, ZERO)
            + FEES_CHARGED
            - repaid.get(account.pk, ZERO)
            - reversals.get(account.pk, ZERO)
            - credits.get(account.pk, ZERO)
        )
        assert account.outstanding_balance == expected, account.number


def test_every_repaid_loan_has_its_repayments_and_every_loan_its_schedule(demo):
    assert not LoanRecord.objects.filter(installments__isnull=True).exists()
    repaid = LoanRecord.objects.filter(status=LoanStatus.REPAID)
    assert repaid.count() > 20
    # ... each paid by repayment rows (through their allocations: Bob's names no loan).
    assert not repaid.annotate(n=Count("installments__allocations")).filter(n=0).exists()
    # The schedule and the loan agree: what is unpaid on its installments is what it owes.
    unpaid = _sums(Installment, "amount", key="loan_id", paid_on__isnull=True)
    part_paid = _sums(Installment, "paid_amount", key="loan_id", paid_on__isnull=True)
    for loan in LoanRecord.objects.exclude(status=LoanStatus.REVERSED):
        owed = unpaid.get(loan.pk, ZERO) - part_paid.get(loan.pk, ZERO)
        assert loan.outstanding_amount == owed, loan.reference
    # Every repayment is allocated in full.
    allocated = _sums(RepaymentAllocation, "amount", key="repayment_id")
    for repayment in Repayment.objects.all():
        assert allocated.get(repayment.pk) == repayment.amount, repayment.reference


def test_the_demo_overdue_figures_come_from_the_schedules(demo):
    bob = CreditAccount.objects.get(customer__user__username="bob")
    assert bob.delinquency.overdue_count == 4  # four installments paid late
    assert bob.delinquency.overdue_open == 0
    over = AccountDelinquency.objects.filter(overdue_count__gte=3, account__status="active")
    assert over.exists()
    assert AccountDelinquency.objects.filter(Q(overdue_count=1) | Q(overdue_count=2)).exists()
    assert AccountDelinquency.objects.count() == CreditAccount.objects.count()
    # The figures are what a full recomputation gives: a refresh writes nothing.
    out = StringIO()
    call_command("refresh_delinquency", no_progress=True, stdout=out)
    assert " 0 rows written" in out.getvalue()
