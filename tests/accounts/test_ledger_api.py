"""The ledger functions complaints and closures compose into their transitions: each one's new
state, its history rows (acting user and reason), and the transitions it refuses (writing
nothing then). They run inside the caller's transaction, under the account's lock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import locks, services
from accounts.enums import (
    AccountStatus,
    CorrectionKind,
    CorrectionStatus,
    LoanChannel,
    LoanKind,
    LoanStatus,
    RepaymentChannel,
    RiskSignalKind,
    RiskSignalStatus,
    Severity,
)
from accounts.models import CreditAccount, CreditReportCorrection, LoanRecord, RiskSignal, User
from accounts.services import AccountSnapshot, LoanReversal
from core.errors import ApplicationError
from tests.accounts.history import HistoryProbe, assert_last_history
from tests.factories import CreditAccountFactory, LoanRecordFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(db) -> User:
    return UserFactory(username="ledger-actor", is_staff=True)


def _loan(actor: User, account: CreditAccount, amount: str, **kwargs) -> LoanRecord:
    return services.loan_record(
        actor=actor,
        reason="setup loan",
        account_id=account.pk,
        amount=Decimal(amount),
        kind=LoanKind.PURCHASE,
        channel=LoanChannel.APP,
        **kwargs,
    )


def _repay(actor: User, account: CreditAccount, amount: str, loan: LoanRecord | None = None):
    services.repayment_record(
        actor=actor,
        reason="setup repayment",
        account_id=account.pk,
        amount=Decimal(amount),
        channel=RepaymentChannel.BANK_CARD,
        loan_id=loan.pk if loan else None,
    )


def _locked(account: CreditAccount) -> CreditAccount:
    return locks.account_for_update(account_id=account.pk)


def _locked_loan(loan: LoanRecord) -> LoanRecord:
    return locks.loans_for_update(loan_ids=[loan.pk])[0]


# --- loan_settled_status, loan_dispute, loan_undispute -----------------------------------------


def test_loan_settled_status_is_posted_while_owed_else_repaid():
    assert services.loan_settled_status(LoanRecord(outstanding_amount=Decimal("0.01"))) == (
        LoanStatus.POSTED
    )
    assert services.loan_settled_status(LoanRecord(outstanding_amount=Decimal("0"))) == (
        LoanStatus.REPAID
    )


@pytest.mark.parametrize("repaid", [False, True])
def test_loan_dispute_pauses_collection_and_returns_the_old_status(actor, repaid):
    account = CreditAccountFactory()
    loan = _loan(actor, account, "120.00")
    if repaid:
        _repay(actor, account, "120.00")
    probe = HistoryProbe()
    with transaction.atomic():
        old = services.loan_dispute(loan=_locked_loan(loan), actor=actor, reason="complaint:CP1")
    assert old == (LoanStatus.REPAID if repaid else LoanStatus.POSTED)
    loan.refresh_from_db()
    assert (loan.status, loan.collection_paused) == (LoanStatus.DISPUTED, True)
    assert probe.new_rows() == {"LoanRecord": 1}
    assert_last_history(LoanRecord, loan.pk, actor, "complaint:CP1")


@pytest.mark.parametrize("status", [LoanStatus.DISPUTED, LoanStatus.REVERSED])
def test_loan_dispute_refuses_a_disputed_or_reversed_loan(actor, status):
    loan = LoanRecordFactory(status=status)
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc, transaction.atomic():
        services.loan_dispute(loan=_locked_loan(loan), actor=actor, reason="again")
    assert exc.value.code == "invalid_loan_transition"
    assert probe.new_rows() == {}
    loan.refresh_from_db()
    assert loan.status == status


@pytest.mark.parametrize(
    ("outstanding", "expected"), [("50.00", LoanStatus.POSTED), ("0.00", LoanStatus.REPAID)]
)
def test_loan_undispute_stands_the_loan_again_and_resumes_collection(actor, outstanding, expected):
    loan = LoanRecordFactory(
        amount=Decimal("50.00"),
        outstanding_amount=Decimal(outstanding),
        status=LoanStatus.DISPUTED,
        collection_paused=True,
    )
    probe = HistoryProbe()
    with transaction.atomic():
        services.loan_undispute(loan=_locked_loan(loan), actor=actor, reason="complaint:CP2")
    loan.refresh_from_db()
    assert (loan.status, loan.collection_paused) == (expected, False)
    assert probe.new_rows() == {"LoanRecord": 1}
    assert_last_history(LoanRecord, loan.pk, actor, "complaint:CP2")


@pytest.mark.parametrize("status", [LoanStatus.POSTED, LoanStatus.REPAID, LoanStatus.REVERSED])
def test_loan_undispute_refuses_a_loan_that_is_not_disputed(actor, status):
    loan = LoanRecordFactory(status=status)
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc, transaction.atomic():
        services.loan_undispute(loan=_locked_loan(loan), actor=actor, reason="no")
    assert exc.value.code == "invalid_loan_transition"
    assert probe.new_rows() == {}


# --- loans_reverse -------------------------------------------------------------------------------


def test_loans_reverse_zeroes_the_loans_and_credits_the_account_once(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    first = _loan(actor, account, "300.00", fees=Decimal("5.00"), interest=Decimal("2.50"))
    second = _loan(actor, account, "200.00")
    _repay(actor, account, "120.00", loan=first)  # first owes 180.00, second 200.00
    probe = HistoryProbe()
    with transaction.atomic():
        locked = _locked(account)
        loans = locks.loans_for_update(loan_ids=[second.pk, first.pk], account_id=account.pk)
        result = services.loans_reverse(
            account=locked, loans=loans, actor=actor, reason="complaint:CP3"
        )
    assert result == {
        first.pk: LoanReversal(
            reversed_outstanding=Decimal("180.00"),
            refunded_repaid=Decimal("120.00"),
            refunded_fees=Decimal("5.00"),
            refunded_interest=Decimal("2.50"),
        ),
        second.pk: LoanReversal(
            reversed_outstanding=Decimal("200.00"),
            refunded_repaid=Decimal("0.00"),
            refunded_fees=Decimal("0.00"),
            refunded_interest=Decimal("0.00"),
        ),
    }
    for loan in (first, second):
        loan.refresh_from_db()
        assert loan.status == LoanStatus.REVERSED
        assert (loan.outstanding_amount, loan.fees, loan.interest) == (0, 0, 0)
        assert loan.collection_paused is True
        assert_last_history(LoanRecord, loan.pk, actor, "complaint:CP3")
    account.refresh_from_db()
    assert account.outstanding_balance == Decimal("0.00")
    assert account.available_credit == Decimal("1000.00")
    assert probe.new_rows() == {"LoanRecord": 2, "CreditAccount": 1}
    assert_last_history(CreditAccount, account.pk, actor, "complaint:CP3")


def test_loans_reverse_caps_the_available_credit_at_the_limit(actor):
    # The limit was cut to 100 while 300 was owed: the credit back stops at the limit.
    account = CreditAccountFactory(
        credit_limit=Decimal("100.00"),
        outstanding_balance=Decimal("300.00"),
        available_credit=Decimal("0.00"),
    )
    loan = LoanRecordFactory(account=account, amount=Decimal("300.00"))
    with transaction.atomic():
        services.loans_reverse(
            account=_locked(account), loans=[_locked_loan(loan)], actor=actor, reason="r"
        )
    account.refresh_from_db()
    assert (account.outstanding_balance, account.available_credit) == (
        Decimal("0.00"),
        Decimal("100.00"),
    )


def test_loans_reverse_of_a_repaid_loan_leaves_the_account_alone(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    loan = _loan(actor, account, "80.00")
    _repay(actor, account, "80.00")
    probe = HistoryProbe()
    with transaction.atomic():
        result = services.loans_reverse(
            account=_locked(account), loans=[_locked_loan(loan)], actor=actor, reason="r"
        )
    assert result[loan.pk].refunded_repaid == Decimal("80.00")
    assert result[loan.pk].reversed_outstanding == Decimal("0.00")
    assert probe.new_rows() == {"LoanRecord": 1}


def test_loans_reverse_refuses_a_reversed_loan_and_writes_nothing(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    good = _loan(actor, account, "100.00")
    reversed_already = LoanRecordFactory(account=account, status=LoanStatus.REVERSED)
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc, transaction.atomic():
        services.loans_reverse(
            account=_locked(account),
            loans=locks.loans_for_update(loan_ids=[good.pk, reversed_already.pk]),
            actor=actor,
            reason="r",
        )
    assert exc.value.code == "invalid_loan_transition"
    assert probe.new_rows() == {}
    good.refresh_from_db()
    assert good.status == LoanStatus.POSTED


def test_loans_reverse_refuses_another_accounts_loan(actor):
    account = CreditAccountFactory()
    stranger = LoanRecordFactory()
    probe = HistoryProbe()
    with pytest.raises(ApplicationError), transaction.atomic():
        services.loans_reverse(
            account=_locked(account), loans=[_locked_loan(stranger)], actor=actor, reason="r"
        )
    assert probe.new_rows() == {}


# --- account_lending_end, account_lending_restore, account_close ------------------------------


def test_account_lending_end_closing_snapshots_then_zeroes_the_limit(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    _loan(actor, account, "400.00")
    now = timezone.now()
    probe = HistoryProbe()
    with transaction.atomic():
        snapshot = services.account_lending_end(
            account=_locked(account),
            new_status=AccountStatus.CLOSING,
            actor=actor,
            reason="closure #1 took effect",
            now=now,
        )
    assert snapshot == AccountSnapshot(
        status=AccountStatus.ACTIVE,
        credit_limit=Decimal("1000.00"),
        available_credit=Decimal("600.00"),
        outstanding_balance=Decimal("400.00"),
        closed_at=None,
    )
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSING
    assert (account.credit_limit, account.available_credit) == (0, 0)
    assert account.outstanding_balance == Decimal("400.00")
    assert account.closed_at is None
    assert probe.new_rows() == {"CreditAccount": 1}
    assert_last_history(CreditAccount, account.pk, actor, "closure #1 took effect")


def test_account_lending_end_closed_dates_the_closing(actor):
    account = CreditAccountFactory(status=AccountStatus.FROZEN)
    now = timezone.now() - timedelta(hours=1)
    with transaction.atomic():
        snapshot = services.account_lending_end(
            account=_locked(account),
            new_status=AccountStatus.CLOSED,
            actor=actor,
            reason="closure #2 took effect",
            now=now,
        )
    assert snapshot.status == AccountStatus.FROZEN
    account.refresh_from_db()
    assert (account.status, account.closed_at) == (AccountStatus.CLOSED, now)
    assert account.credit_limit == 0


@pytest.mark.parametrize(
    ("status", "new_status"),
    [
        (AccountStatus.ACTIVE, AccountStatus.FROZEN),
        (AccountStatus.ACTIVE, AccountStatus.ACTIVE),
        (AccountStatus.CLOSED, AccountStatus.CLOSING),
        (AccountStatus.CLOSING, AccountStatus.CLOSING),
    ],
)
def test_account_lending_end_refuses_other_statuses(actor, status, new_status):
    closed_at = timezone.now() if status == AccountStatus.CLOSED else None
    account = CreditAccountFactory(status=status, closed_at=closed_at)
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc, transaction.atomic():
        services.account_lending_end(
            account=_locked(account),
            new_status=new_status,
            actor=actor,
            reason="no",
            now=timezone.now(),
        )
    assert exc.value.code == "invalid_account_transition"
    assert probe.new_rows() == {}


def _ended(actor: User, account: CreditAccount, new_status: str) -> AccountSnapshot:
    with transaction.atomic():
        return services.account_lending_end(
            account=_locked(account),
            new_status=new_status,
            actor=actor,
            reason="took effect",
            now=timezone.now(),
        )


def test_account_lending_restore_gives_back_the_limit_and_what_was_repaid(actor):
    account = CreditAccountFactory(credit_limit=Decimal("1000.00"))
    _loan(actor, account, "400.00")
    snapshot = _ended(actor, account, AccountStatus.CLOSING)
    _repay(actor, account, "150.00")  # repaid while closing: credit comes back with the limit
    probe = HistoryProbe()
    with transaction.atomic():
        services.account_lending_restore(
            account=_locked(account), snapshot=snapshot, actor=actor, reason="appeal AP1 upheld"
        )
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.credit_limit == Decimal("1000.00")
    assert account.available_credit == Decimal("750.00")
    assert account.outstanding_balance == Decimal("250.00")
    assert account.closed_at is None
    assert probe.new_rows() == {"CreditAccount": 1}
    assert_last_history(CreditAccount, account.pk, actor, "appeal AP1 upheld")


def test_account_lending_restore_of_a_closed_account_caps_at_the_limit(actor):
    account = CreditAccountFactory(credit_limit=Decimal("500.00"))
    earlier = timezone.now() - timedelta(days=400)
    snapshot = _ended(actor, account, AccountStatus.CLOSED)
    # A snapshot whose arithmetic would go past the limit, with a closing date of its own.
    snapshot = AccountSnapshot(
        status=snapshot.status,
        credit_limit=snapshot.credit_limit,
        available_credit=Decimal("450.00"),
        outstanding_balance=Decimal("100.00"),
        closed_at=earlier,
    )
    with transaction.atomic():
        services.account_lending_restore(
            account=_locked(account), snapshot=snapshot, actor=actor, reason="upheld"
        )
    account.refresh_from_db()
    assert (account.status, account.closed_at) == (AccountStatus.ACTIVE, earlier)
    assert account.available_credit == Decimal("500.00")


def test_account_lending_restore_refuses_an_active_account(actor):
    account = CreditAccountFactory()
    snapshot = AccountSnapshot(
        status=AccountStatus.ACTIVE,
        credit_limit=Decimal("1.00"),
        available_credit=Decimal("1.00"),
        outstanding_balance=Decimal("0.00"),
        closed_at=None,
    )
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc, transaction.atomic():
        services.account_lending_restore(
            account=_locked(account), snapshot=snapshot, actor=actor, reason="no"
        )
    assert exc.value.code == "invalid_account_transition"
    assert probe.new_rows() == {}


def test_account_close_closes_a_closing_account(actor):
    account = CreditAccountFactory(status=AccountStatus.CLOSING)
    now = timezone.now()
    probe = HistoryProbe()
    with transaction.atomic():
        services.account_close(account=_locked(account), actor=actor, reason="closure #3", now=now)
    account.refresh_from_db()
    assert (account.status, account.closed_at) == (AccountStatus.CLOSED, now)
    assert probe.new_rows() == {"CreditAccount": 1}
    assert_last_history(CreditAccount, account.pk, actor, "closure #3")


@pytest.mark.parametrize("status", [AccountStatus.ACTIVE, AccountStatus.FROZEN])
def test_account_close_refuses_an_account_that_is_not_closing(actor, status):
    account = CreditAccountFactory(status=status)
    probe = HistoryProbe()
    with pytest.raises(ApplicationError) as exc, transaction.atomic():
        services.account_close(
            account=_locked(account), actor=actor, reason="no", now=timezone.now()
        )
    assert exc.value.code == "invalid_account_transition"
    assert probe.new_rows() == {}


# --- risk_signals_overrule -----------------------------------------------------------------------


def _signal(actor: User, account: CreditAccount) -> RiskSignal:
    return services.risk_signal_raise(
        actor=actor,
        reason="risk engine",
        account_id=account.pk,
        kind=RiskSignalKind.OVERDUE,
        severity=Severity.HIGH,
    )


def test_risk_signals_overrule_changes_each_signal_not_overruled_yet(actor):
    account = CreditAccountFactory()
    open_one, resolved, overruled, untouched = (_signal(actor, account) for _ in range(4))
    RiskSignal.objects.filter(pk=resolved.pk).update(status=RiskSignalStatus.RESOLVED)
    RiskSignal.objects.filter(pk=overruled.pk).update(status=RiskSignalStatus.OVERRULED)
    probe = HistoryProbe()
    with transaction.atomic():
        changed = services.risk_signals_overrule(
            signal_ids=[overruled.pk, resolved.pk, open_one.pk], actor=actor, reason="upheld"
        )
    assert changed == 2
    assert probe.new_rows() == {"RiskSignal": 2}
    for signal in (open_one, resolved):
        signal.refresh_from_db()
        assert signal.status == RiskSignalStatus.OVERRULED
        assert_last_history(RiskSignal, signal.pk, actor, "upheld")
    untouched.refresh_from_db()
    assert untouched.status == RiskSignalStatus.OPEN


# --- Credit-report objections and corrections ------------------------------------------------


def test_objection_open_and_correction_open_store_text_and_history_reason(actor):
    loan = LoanRecordFactory()
    now = timezone.now()
    probe = HistoryProbe()
    with transaction.atomic():
        objection = services.objection_open(
            account=loan.account,
            loan=loan,
            origin="complaint:CP4",
            text="The customer disputes this loan record.",
            opened_at=now,
            due_at=now + timedelta(days=20),
            actor=actor,
            reason="filed by phone",
        )
        correction = services.correction_open(
            account=loan.account,
            origin="appeal:AP4",
            text="appeal AP4 upheld: wrong closure",
            opened_at=now,
            actor=actor,
            reason="appeal AP4 upheld: wrong closure",
        )
    objection.refresh_from_db()
    assert (objection.kind, objection.status, objection.loan_id) == (
        CorrectionKind.OBJECTION,
        CorrectionStatus.OPEN,
        loan.pk,
    )
    assert objection.reason == "The customer disputes this loan record."
    assert (objection.origin, objection.opened_at, objection.due_at) == (
        "complaint:CP4",
        now,
        now + timedelta(days=20),
    )
    assert_last_history(CreditReportCorrection, objection.pk, actor, "filed by phone")
    correction.refresh_from_db()
    assert (correction.kind, correction.loan_id, correction.due_at) == (
        CorrectionKind.CORRECTION,
        None,
        None,
    )
    assert correction.reason == "appeal AP4 upheld: wrong closure"
    assert_last_history(
        CreditReportCorrection, correction.pk, actor, "appeal AP4 upheld: wrong closure"
    )
    assert probe.new_rows() == {"CreditReportCorrection": 2}


def _objection(loan: LoanRecord, origin: str, status: str, kind=CorrectionKind.OBJECTION):
    return CreditReportCorrection.objects.create(
        account=loan.account, loan=loan, kind=kind, status=status, reason="x", origin=origin
    )


def test_objections_settle_settles_the_open_and_sent_ones_of_those_loans(actor):
    """An objection the bureau never heard of is settled at once; one it has (`sent`) gets its
    outcome queued for the bureau and is settled when the bureau acknowledges it
    (tests/rights/test_bureau.py)."""
    account = CreditAccountFactory()
    a, b, c = (LoanRecordFactory(account=account) for _ in range(3))
    settle = [_objection(a, "complaint:CP5", CorrectionStatus.OPEN)]
    told = _objection(b, "complaint:CP5", CorrectionStatus.SENT)
    keep = [
        _objection(a, "complaint:CP5", CorrectionStatus.WITHDRAWN),
        _objection(c, "complaint:CP5", CorrectionStatus.OPEN),  # not one of the loans
        _objection(a, "complaint:OTHER", CorrectionStatus.OPEN),  # another case
        _objection(a, "complaint:CP5", CorrectionStatus.OPEN, kind=CorrectionKind.CORRECTION),
    ]
    now = timezone.now()
    probe = HistoryProbe()
    with transaction.atomic():
        count = services.objections_settle(
            origin="complaint:CP5", loan_ids=[a.pk, b.pk], actor=actor, reason="decided", now=now
        )
    assert count == 2
    assert probe.new_rows() == {"CreditReportCorrection": 1}
    for row in settle:
        row.refresh_from_db()
        assert (row.status, row.settled_at) == (CorrectionStatus.SETTLED, now)
        assert_last_history(CreditReportCorrection, row.pk, actor, "decided")
    told.refresh_from_db()
    assert (told.status, told.settled_at) == (CorrectionStatus.SENT, None)
    outcome = told.bureau_submissions.get()
    assert (outcome.message, outcome.outcome, outcome.status) == (
        "objection_outcome",
        "rejected",
        "pending",
    )
    for row in keep:
        before = row.status
        row.refresh_from_db()
        assert (row.status, row.settled_at) == (before, None)


def test_objections_withdraw_withdraws_only_the_cases_open_objections(actor):
    loan = LoanRecordFactory()
    withdraw = _objection(loan, "complaint:CP6", CorrectionStatus.OPEN)
    sent = _objection(loan, "complaint:CP6", CorrectionStatus.SENT)
    other = _objection(loan, "complaint:CP7", CorrectionStatus.OPEN)
    now = timezone.now()
    probe = HistoryProbe()
    with transaction.atomic():
        count = services.objections_withdraw(
            origin="complaint:CP6", actor=actor, reason="withdrawn by the customer", now=now
        )
    assert count == 2  # one withdrawn at once, the sent one's withdrawal queued for the bureau
    assert probe.new_rows() == {"CreditReportCorrection": 1}
    assert sent.bureau_submissions.get().outcome == "withdrawn"
    withdraw.refresh_from_db()
    assert (withdraw.status, withdraw.settled_at) == (CorrectionStatus.WITHDRAWN, now)
    assert_last_history(CreditReportCorrection, withdraw.pk, actor, "withdrawn by the customer")
    for row in (sent, other):
        row.refresh_from_db()
        assert row.settled_at is None
    assert (sent.status, other.status) == (CorrectionStatus.SENT, CorrectionStatus.OPEN)


# --- Locks -----------------------------------------------------------------------------------------


def test_ledger_locks_take_no_key_update_locks_in_pk_order():
    account = CreditAccountFactory()
    loans = [LoanRecordFactory(account=account) for _ in range(3)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locks.account_for_update(account_id=account.pk)
        locked = locks.loans_for_update(loan_ids=[loans[2].pk, loans[0].pk, loans[1].pk])
        locks.open_loans_for_update(account_id=account.pk)
        locks.risk_signals_for_update(signal_ids=[1])
        locks.objections_for_update(origin="x", statuses=[CorrectionStatus.OPEN])
    assert [loan.pk for loan in locked] == sorted(loan.pk for loan in loans)
    assert len(queries) == 5
    assert all(q["sql"].endswith("FOR NO KEY UPDATE") for q in queries.captured_queries)


def test_account_for_update_of_a_missing_account_is_a_404():
    with pytest.raises(Http404), transaction.atomic():
        locks.account_for_update(account_id=0)


def test_loans_for_update_keeps_to_the_account_given():
    account = CreditAccountFactory()
    mine, stranger = LoanRecordFactory(account=account), LoanRecordFactory()
    with transaction.atomic():
        locked = locks.loans_for_update(loan_ids=[mine.pk, stranger.pk], account_id=account.pk)
    assert locked == [mine]
