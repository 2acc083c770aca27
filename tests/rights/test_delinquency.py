"""Issue 12 item 3: repayment schedules, allocation oldest due first, the computed overdue
figures (disputed, reversed and paused loans never count), refreshed per account inside each
repayment's and dispute's transaction with a fixed number of queries, and the risk scan reading
only those figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import locks, services
from accounts.delinquency import (
    clock_now,
    delinquency_refresh,
    delinquency_refresh_accounts,
    figures_compute,
)
from accounts.enums import LoanKind, LoanStatus, RepaymentChannel
from accounts.models import (
    AccountDelinquency,
    CreditAccount,
    Installment,
    LoanRecord,
    RepaymentAllocation,
)
from accounts.schedules import add_months, schedule_plan
from closures.models import ClosureRequest
from closures.risk_scan import risk_scan_run
from closures.services.proposals import risk_signal_ingest
from complaints import services as complaint_services
from complaints.enums import Category, Channel
from core.errors import ApplicationError
from core.models import ActivityEntry
from tests.factories import CreditAccountFactory

pytestmark = pytest.mark.django_db


def _account(limit: str = "50000.00") -> CreditAccount:
    return CreditAccountFactory(credit_limit=Decimal(limit))


def _loan(actor, account, *, days_ago: int, amount: str = "300.00", **kw) -> LoanRecord:
    return services.loan_record(
        actor=actor,
        reason="test loan",
        account_id=account.pk,
        amount=Decimal(amount),
        kind=kw.pop("kind", LoanKind.PURCHASE),
        channel="app",
        created_at=timezone.now() - timedelta(days=days_ago),
        **kw,
    )


def _pay(actor, account, amount: str, *, days_ago: int = 0, loan=None):
    return services.repayment_record(
        actor=actor,
        reason="paid in",
        account_id=account.pk,
        amount=Decimal(amount),
        channel=RepaymentChannel.BANK_CARD,
        loan_id=loan.pk if loan else None,
        paid_at=timezone.now() - timedelta(days=days_ago),
    )


def _figures(account) -> AccountDelinquency:
    return AccountDelinquency.objects.get(account=account)


# --- The schedule model ---------------------------------------------------------------------------


def test_a_purchase_is_due_once_after_the_interest_free_days():
    (due,) = schedule_plan(
        kind=LoanKind.PURCHASE, amount=Decimal("99.00"), taken_on=date(2026, 3, 1),
        interest_free_days=45,
    )  # fmt: skip
    assert (due.number, due.due_on, due.amount) == (1, date(2026, 4, 15), Decimal("99.00"))


def test_an_installment_loan_is_due_monthly_the_last_taking_the_cents():
    dues = schedule_plan(
        kind=LoanKind.INSTALLMENT, amount=Decimal("100.00"), taken_on=date(2026, 1, 31),
        interest_free_days=30, months=3,
    )  # fmt: skip
    assert [d.due_on for d in dues] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert [d.amount for d in dues] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_cash_loan_is_due_on_its_terms(settings):
    settings.CASH_LOAN_TERM_DAYS = 14
    (due,) = schedule_plan(
        kind=LoanKind.CASH, amount=Decimal("500.00"), taken_on=date(2026, 5, 1),
        interest_free_days=30,
    )  # fmt: skip
    assert due.due_on == date(2026, 5, 15)
    (due,) = schedule_plan(
        kind=LoanKind.CASH, amount=Decimal("500.00"), taken_on=date(2026, 5, 1),
        interest_free_days=30, due_date=date(2026, 6, 1),
    )  # fmt: skip
    assert due.due_on == date(2026, 6, 1)


@pytest.mark.parametrize(
    "terms",
    [
        [(date(2026, 6, 1), Decimal("100.00"))],  # does not add up
        [(date(2026, 6, 1), Decimal("0.00")), (date(2026, 7, 1), Decimal("200.00"))],
        [(date(2026, 7, 1), Decimal("100.00")), (date(2026, 6, 1), Decimal("100.00"))],
    ],
)
def test_a_booked_schedule_that_does_not_fit_is_a_field_error(terms):
    with pytest.raises(ApplicationError) as exc:
        schedule_plan(
            kind=LoanKind.CASH, amount=Decimal("200.00"), taken_on=date(2026, 5, 1),
            interest_free_days=30, terms=terms,
        )  # fmt: skip
    assert exc.value.status == 400 and "schedule" in exc.value.fields


def test_a_posted_loan_gets_its_schedule_with_history(system_user):
    account = _account()
    loan = _loan(system_user, account, days_ago=0, amount="600.00",
                 kind=LoanKind.INSTALLMENT, months=6)  # fmt: skip
    installments = list(loan.installments.order_by("number"))
    assert [i.amount for i in installments] == [Decimal("100.00")] * 6
    assert loan.due_date == installments[-1].due_on
    history = Installment.history.filter(loan_id=loan.pk)
    assert history.count() == 6
    assert set(history.values_list("history_user_id", "history_change_reason")) == {
        (system_user.pk, "test loan")
    }
    assert ActivityEntry.objects.filter(action="accounts.installment.create").count() == 6


# --- Allocation ---------------------------------------------------------------------------------


def test_a_repayment_naming_no_loan_pays_the_oldest_due_installment_across_loans(system_user):
    account = _account()
    # Installment loan 70 days ago: due ~40 days ago, ~10 days ago, in ~20 days.
    spread = _loan(system_user, account, days_ago=70, amount="300.00",
                   kind=LoanKind.INSTALLMENT, months=3)  # fmt: skip
    # A purchase 45 days ago, due 15 days ago (between the first two installments).
    purchase = _loan(system_user, account, days_ago=45, amount="50.00")
    repayment = _pay(system_user, account, "160.00")
    parts = list(
        RepaymentAllocation.objects.filter(repayment=repayment)
        .order_by("installment__due_on")
        .values_list("installment__loan_id", "installment__number", "amount")
    )
    assert parts == [
        (spread.pk, 1, Decimal("100.00")),
        (purchase.pk, 1, Decimal("50.00")),
        (spread.pk, 2, Decimal("10.00")),
    ]
    purchase.refresh_from_db()
    spread.refresh_from_db()
    assert purchase.status == LoanStatus.REPAID and purchase.outstanding_amount == 0
    assert spread.outstanding_amount == Decimal("190.00")
    first = spread.installments.get(number=1)
    assert first.paid_on == timezone.localdate() and first.paid_amount == first.amount
    assert spread.installments.get(number=2).paid_on is None
    allocation_history = RepaymentAllocation.history.filter(repayment_id=repayment.pk)
    assert set(allocation_history.values_list("history_user_id", "history_change_reason")) == {
        (system_user.pk, "paid in")
    }


def test_a_repayment_naming_no_loan_skips_disputed_loans(system_user):
    account = _account()
    disputed = _loan(system_user, account, days_ago=80, amount="100.00")
    standing = _loan(system_user, account, days_ago=40, amount="100.00")
    with transaction.atomic():
        services.loan_dispute(
            loan=locks.loans_for_update(loan_ids=[disputed.pk])[0], actor=system_user,
            reason="not mine",
        )  # fmt: skip
    _pay(system_user, account, "60.00")
    disputed.refresh_from_db()
    standing.refresh_from_db()
    assert disputed.outstanding_amount == Decimal("100.00")
    assert standing.outstanding_amount == Decimal("40.00")
    # More than the loans in collection owe: refused with a field error, nothing written.
    with pytest.raises(ApplicationError) as exc:
        _pay(system_user, account, "50.00")
    assert exc.value.code == "overpayment" and "amount" in exc.value.fields
    # Naming the disputed loan pays it.
    _pay(system_user, account, "100.00", loan=disputed)
    disputed.refresh_from_db()
    assert disputed.outstanding_amount == 0 and disputed.status == LoanStatus.DISPUTED


def test_repayment_costs_the_same_queries_whatever_the_number_of_loans(
    system_user, django_assert_num_queries
):
    def account_with(n: int) -> CreditAccount:
        account = _account()
        for k in range(n):
            _loan(system_user, account, days_ago=100 - k, amount="90.00",
                  kind=LoanKind.INSTALLMENT, months=3)  # fmt: skip
        return account

    small, big = account_with(2), account_with(6)
    with CaptureQueriesContext(connection) as ctx:
        _pay(system_user, small, "180.00")  # pays across both loans
    with django_assert_num_queries(len(ctx.captured_queries)):
        _pay(system_user, big, "540.00")  # pays across all six, 18 installments
    assert Installment.objects.filter(account=big, paid_on__isnull=False).count() == 18
    # Refreshed in the same transaction: nothing unpaid any more (the late ones still count).
    assert _figures(big).overdue_open == 0 and _figures(big).overdue_count > 0
    assert len(ctx.captured_queries) <= 30


def test_dispute_costs_the_same_queries_whatever_the_number_of_loans(system_user):
    counts = []
    for n in (2, 6):
        account = _account()
        loans = [_loan(system_user, account, days_ago=60, amount="50.00") for _ in range(n)]
        with transaction.atomic(), CaptureQueriesContext(connection) as ctx:
            (loan,) = locks.loans_for_update(loan_ids=[loans[0].pk])
            services.loan_dispute(loan=loan, actor=system_user, reason="not mine")
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


# --- The overdue figures -----------------------------------------------------------------------


def test_overdue_counts_unpaid_past_due_plus_grace_and_late_payments(system_user, settings):
    settings.OVERDUE_GRACE_DAYS = 3
    account = _account()
    _loan(system_user, account, days_ago=32, amount="10.00")  # due 2 days ago: within grace
    assert _figures(account).overdue_count == 0
    _loan(system_user, account, days_ago=40, amount="20.00")  # due 10 days ago: overdue
    figures = _figures(account)
    assert (figures.overdue_count, figures.overdue_open) == (1, 1)
    assert figures.amount_past_due == Decimal("20.00")
    assert figures.oldest_past_due_on == timezone.localdate() - timedelta(days=10)
    # Paying it late leaves it counted (paid late), no longer open.
    _pay(system_user, account, "20.00")
    figures = _figures(account)
    assert (figures.overdue_count, figures.overdue_open, figures.amount_past_due) == (1, 0, 0)


def test_late_payments_older_than_twelve_months_stop_counting(system_user):
    account = _account()
    _loan(system_user, account, days_ago=500, amount="10.00")  # due ~470 days ago
    _loan(system_user, account, days_ago=200, amount="10.00")  # due ~170 days ago
    _pay(system_user, account, "10.00", days_ago=400)  # the first, 70 days late
    _pay(system_user, account, "10.00", days_ago=100)  # the second, 70 days late
    assert _figures(account).overdue_count == 1  # only the one within 12 months
    _loan(system_user, account, days_ago=40, amount="10.00")
    _pay(system_user, account, "10.00", days_ago=9)  # 1 day late: within the grace
    assert _figures(account).overdue_count == 1


def test_dispute_removes_overdue_at_once_and_undispute_brings_it_back(system_user):
    account = _account()
    loans = [_loan(system_user, account, days_ago=60 + k, amount="30.00") for k in range(3)]
    assert _figures(account).overdue_count == 3
    complaint = complaint_services.complaint_submit(
        actor=account.customer.user,
        reason="I did not make these",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="不是我借的",
        channel=Channel.PORTAL,
        account_id=account.pk,
        loan_record_ids=[loans[0].pk, loans[1].pk],
    )
    assert complaint.pk
    assert _figures(account).overdue_count == 1
    with transaction.atomic():
        (loan,) = locks.loans_for_update(loan_ids=[loans[0].pk])
        services.loan_undispute(loan=loan, actor=system_user, reason="rejected")
    assert _figures(account).overdue_count == 2
    with transaction.atomic():
        account_locked = locks.account_for_update(account_id=account.pk)
        services.loans_reverse(
            account=account_locked, loans=locks.loans_for_update(loan_ids=[loans[1].pk]),
            actor=system_user, reason="upheld",
        )  # fmt: skip
    assert _figures(account).overdue_count == 2  # reversed (still disputed before): 0 of it


def test_the_full_refresh_matches_the_per_account_one_and_writes_only_changes(system_user):
    accounts = [_account() for _ in range(4)]
    _loan(system_user, accounts[0], days_ago=90, amount="60.00", kind=LoanKind.INSTALLMENT)
    _loan(system_user, accounts[1], days_ago=50, amount="10.00")
    _pay(system_user, accounts[1], "10.00", days_ago=5)
    _loan(system_user, accounts[2], days_ago=5, amount="10.00")
    expected = {
        d.account_id: tuple(getattr(d, f) for f in ("overdue_count", "overdue_open",
                                                      "amount_past_due", "oldest_past_due_on"))
        for d in AccountDelinquency.objects.all()
    }  # fmt: skip
    assert expected[accounts[0].pk][:2] == (2, 2)
    assert expected[accounts[1].pk][:2] == (1, 0)
    AccountDelinquency.objects.all().delete()  # derived: recomputable from the schedules
    result = delinquency_refresh(batch_size=2)
    assert result.changed == 4 and result.batches == 2
    again = {
        d.account_id: (d.overdue_count, d.overdue_open, d.amount_past_due, d.oldest_past_due_on)
        for d in AccountDelinquency.objects.all()
    }
    assert {k: again[k] for k in expected} == expected
    assert again[accounts[3].pk] == (0, 0, Decimal("0.00"), None)
    assert delinquency_refresh(batch_size=2).changed == 0  # nothing changed: nothing written
    # A month on, the loans of accounts 0 and 2 have fallen further due: two rows change.
    later = timezone.localdate() + timedelta(days=31)
    assert delinquency_refresh(today=later).changed == 2


def test_the_python_figures_are_the_statements(system_user):
    """The SQLite path computes in Python what the statement computes on PostgreSQL."""
    account = _account()
    _loan(system_user, account, days_ago=120, amount="90.00", kind=LoanKind.INSTALLMENT)
    _loan(system_user, account, days_ago=45, amount="20.00")
    _loan(system_user, account, days_ago=400, amount="20.00")
    _pay(system_user, account, "40.00", days_ago=20)
    rows = Installment.objects.filter(account=account).values_list(
        "due_on", "amount", "paid_amount", "paid_on", "loan__status", "loan__collection_paused"
    )
    for today in (timezone.localdate(), timezone.localdate() + timedelta(days=40)):
        delinquency_refresh_accounts(account_ids=[account.pk], today=today)
        row = _figures(account)
        assert figures_compute(rows, clock_now(today)) == {
            "overdue_count": row.overdue_count,
            "overdue_open": row.overdue_open,
            "amount_past_due": row.amount_past_due,
            "oldest_past_due_on": row.oldest_past_due_on,
        }
    assert row.overdue_count >= 3


def test_incremental_refresh_recomputes_only_what_may_have_changed(system_user):
    quiet, due_soon = _account(), _account()
    _loan(system_user, quiet, days_ago=5, amount="10.00", kind=LoanKind.INSTALLMENT, months=12)
    _loan(system_user, due_soon, days_ago=28, amount="10.00")  # due in 2 days
    delinquency_refresh()
    today = timezone.localdate()
    # Nothing was written since the last run, and only due_soon's installment falls due + grace.
    result = delinquency_refresh(incremental=True, today=today + timedelta(days=6))
    assert result.incremental and result.changed == 1
    assert result.accounts == 1
    assert _figures(due_soon).overdue_count == 1
    assert _figures(quiet).overdue_count == 0


def test_command_refreshes_and_reports(system_user, capsys):
    account = _account()
    _loan(system_user, account, days_ago=60, amount="10.00")
    AccountDelinquency.objects.all().delete()
    call_command("refresh_delinquency", no_progress=True)
    out = capsys.readouterr().out
    assert "1 rows written" in out
    call_command("refresh_delinquency", incremental=True, no_progress=True)
    assert "incremental" in capsys.readouterr().out
    assert _figures(account).overdue_count == 1


# --- The risk scan and the risk engine read only the figures ----------------------------------------


def test_three_disputed_overdue_loans_are_not_proposed_three_real_ones_are(system_user):
    victim, late = _account(), _account()
    for account in (victim, late):
        for k in range(3):
            _loan(system_user, account, days_ago=70 + k, amount="40.00")
    victim_loans = list(victim.loans.values_list("pk", flat=True))
    complaint_services.complaint_submit(
        actor=victim.customer.user,
        reason="I did not make these",
        customer=victim.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="三笔都不是我借的",
        channel=Channel.PORTAL,
        account_id=victim.pk,
        loan_record_ids=victim_loans,
    )
    # The stored column says otherwise; nothing reads it any more.
    CreditAccount.objects.filter(pk=victim.pk).update(overdue_count=9)
    delinquency_refresh()
    assert _figures(victim).overdue_count == 0 and _figures(late).overdue_count == 3
    result = risk_scan_run(actor=system_user)
    assert result.proposed == 1
    closure = ClosureRequest.objects.get()
    assert closure.account_id == late.pk and closure.reason == "overdue"
    assert closure.risk_signals.get().details["overdue_count"] == 3


def test_an_overdue_signal_proposes_only_on_the_computed_count(system_user, settings):
    settings.OVERDUE_CLOSURE_THRESHOLD = 3
    account = _account()
    _loan(system_user, account, days_ago=70, amount="40.00")
    signal, closure = risk_signal_ingest(
        actor=system_user, account_id=account.pk, kind="overdue", severity="high",
        details={"overdue_count": 12},
    )  # fmt: skip
    assert signal.pk and closure is None  # the figure typed into the signal is not believed
    for k in range(2):
        _loan(system_user, account, days_ago=80 + k, amount="40.00")
    _signal, closure = risk_signal_ingest(
        actor=system_user, account_id=account.pk, kind="overdue", severity="high", details={}
    )
    assert closure is not None and closure.reason == "overdue"
