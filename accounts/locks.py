"""Row locks of the accounts domain: every `*_for_update()` helper of the ledger, in one place.

The global lock order (every app, every transaction that locks more than one row):

    customer -> account -> loans (by pk) -> complaint -> closure -> appeal

plus the ledger's own dependent rows (risk signals, credit-report corrections, by pk) after the
loans. A transaction takes the rows it needs in that order, each group ordered by pk, so two
transactions never wait on each other in a cycle. complaints and closures keep their own
helpers (`complaints/locks.py`, `closures/locks.py`) and call these first.

No update in the ledger changes a key column (a primary key or a column a foreign key points
at), so every lock here is `FOR NO KEY UPDATE` (`select_for_update(no_key=True)`): it still
serialises every writer of the row, but does not block inserts of rows that merely reference it
(a new loan, repayment or case pointing at the account), which take only `FOR KEY SHARE`.
Call these inside a transaction (`select_for_update` refuses to run outside one).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import Http404

from .enums import CorrectionKind, LoanStatus
from .models import CreditAccount, CreditReportCorrection, LoanRecord, RiskSignal


def account_for_update(*, account_id: int) -> CreditAccount:
    """The account, locked; 404 when there is none."""
    try:
        return CreditAccount.objects.select_for_update(no_key=True).get(pk=account_id)
    except CreditAccount.DoesNotExist as exc:
        raise Http404 from exc


def loans_for_update(*, loan_ids: Iterable[int], account_id: int | None = None) -> list[LoanRecord]:
    """These loans (of this account, when given), locked in pk order. Missing ids are simply
    absent from the result: the caller compares lengths when every id must exist."""
    qs = LoanRecord.objects.select_for_update(no_key=True).filter(pk__in=list(loan_ids))
    if account_id is not None:
        qs = qs.filter(account_id=account_id)
    return list(qs.order_by("pk"))


def open_loans_for_update(*, account_id: int, loan_id: int | None = None) -> list[LoanRecord]:
    """Loans with something left to repay, oldest first (the order repayments pay them in).

    The rows are locked in that order, which for one account's loans is pk order except for
    back-dated loans; every other path that locks several loans of an account holds the
    account's lock first, so the two orders cannot deadlock."""
    qs = LoanRecord.objects.select_for_update(no_key=True).filter(
        account_id=account_id,
        outstanding_amount__gt=0,
        status__in=[LoanStatus.POSTED, LoanStatus.DISPUTED],
    )
    if loan_id is not None:
        qs = qs.filter(pk=loan_id)
    return list(qs.order_by("created_at", "pk"))


def risk_signals_for_update(*, signal_ids: Iterable[int]) -> list[RiskSignal]:
    return list(
        RiskSignal.objects.select_for_update(no_key=True)
        .filter(pk__in=list(signal_ids))
        .order_by("pk")
    )


def objections_for_update(
    *, origin: str, statuses: Iterable[str], loan_ids: Iterable[int] | None = None
) -> list[CreditReportCorrection]:
    """The objection marks a case (`origin`) opened, in these statuses (and for these loans,
    when given), locked in pk order."""
    qs = CreditReportCorrection.objects.select_for_update(no_key=True).filter(
        origin=origin, kind=CorrectionKind.OBJECTION, status__in=list(statuses)
    )
    if loan_ids is not None:
        qs = qs.filter(loan_id__in=list(loan_ids))
    return list(qs.order_by("pk"))
