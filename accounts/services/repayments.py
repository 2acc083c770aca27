"""Repayments: money paid in moves the account's balance and available credit, the loans'
outstanding amounts and statuses, and the installments of their schedules together, in one
transaction, with a fixed number of queries whatever the number of loans (accounts/schedules.py:
allocation oldest due first; accounts/delinquency.py: the account's overdue figures, refreshed
in the same transaction)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import save_with_history
from core.errors import ApplicationError

from .. import hooks, locks, schedules
from ..delinquency import delinquency_refresh_account
from ..enums import LoanStatus
from ..models import LoanRecord, Repayment, User
from .common import BALANCE_FIELDS, amount_check, balance_credit_back, reference_new
from .loans import loan_settled_status


def _overpayment(message: str, field_message: str) -> ApplicationError:
    return ApplicationError(
        message, code="overpayment", status=400, fields={"amount": [field_message]}
    )


def _loans_save(loans: list[LoanRecord], *, actor: User, reason: str) -> None:
    """The paid-down loans, in one bulk update with their history: a posted loan paid off
    becomes repaid; a disputed one stays disputed."""
    for loan in loans:
        if loan.status == LoanStatus.POSTED:
            loan.status = loan_settled_status(loan)
    schedules.rows_update(loans, ["outstanding_amount", "status"], actor=actor, reason=reason)


@transaction.atomic
def repayment_record(
    *,
    actor: User,
    reason: str,
    account_id: int,
    amount: Decimal,
    channel: str,
    loan_id: int | None = None,
    paid_at: datetime | None = None,
) -> Repayment:
    """Record a repayment: the account's balance and available credit, the loans' outstanding
    amounts and statuses and their installments move together, and the account's overdue
    figures are refreshed. A repayment naming a loan pays that loan's installments, oldest
    first; one naming none pays the oldest due installments across the account's loans in
    collection (disputed, reversed and paused loans are skipped).

    When the balance reaches zero, `hooks.balance_settled` runs in the same transaction (an
    account in `closing` is closed by the closures app, which registers that rule).
    """
    account = locks.account_for_update(account_id=account_id)
    amount_check(amount)
    if amount > account.outstanding_balance:
        raise _overpayment(
            _("The repayment exceeds the outstanding balance."),
            _("More than the outstanding balance."),
        )
    loans = locks.open_loans_for_update(account_id=account.pk, loan_id=loan_id)
    if loan_id is not None and not loans:
        raise ApplicationError(_("That loan has nothing left to repay."), code="loan_not_open")
    if loan_id is None:
        loans = [loan for loan in loans if schedules.collectable(loan)]
    installments = schedules.unpaid_installments_for_update(loan_ids=[loan.pk for loan in loans])
    parts, remaining = schedules.allocation_plan(
        loans=loans, installments=installments, amount=amount
    )
    if remaining > 0 and loan_id is not None:
        raise _overpayment(
            _("The repayment exceeds what is owed on that loan."),
            _("More than the loan's outstanding amount."),
        )
    if remaining > 0:
        raise _overpayment(
            _("The repayment exceeds what is owed on the loans in collection."),
            _("More than is owed on loans in collection (disputed loans are not collected)."),
        )
    paid_at = paid_at or timezone.now()
    repayment = Repayment(
        reference=reference_new("RP"),
        account=account,
        loan_id=loan_id,
        amount=amount,
        channel=channel,
        paid_at=paid_at,
    )
    save_with_history(repayment, actor=actor, reason=reason)
    schedules.allocations_apply(
        parts,
        repayment=repayment,
        paid_on=timezone.localdate(paid_at),
        actor=actor,
        reason=reason,
    )
    paid_loans = {part.loan.pk: part.loan for part in parts}
    _loans_save(list(paid_loans.values()), actor=actor, reason=reason)
    balance_credit_back(account, amount)
    save_with_history(account, actor=actor, reason=reason, update_fields=BALANCE_FIELDS)
    delinquency_refresh_account(account_id=account.pk)
    if account.outstanding_balance == 0:
        hooks.balance_settled(account=account, actor=actor)
    return repayment


def standing_loans_pay_down(
    *, account_id: int, amount: Decimal, actor: User, reason: str, paid_on=None
) -> Decimal:
    """Pay up to `amount` off the account's loans in collection as a repayment naming no loan
    would (oldest due installment first), without a repayment row: for credits (a refund or a
    compensation that first reduces what is owed). Updates the loans and their installments and
    refreshes the overdue figures; returns the part used. The caller holds the account's lock
    and moves the account's balance."""
    loans = [
        loan
        for loan in locks.open_loans_for_update(account_id=account_id)
        if schedules.collectable(loan)
    ]
    owed = sum((loan.outstanding_amount for loan in loans), Decimal("0.00"))
    if not loans or owed <= 0:
        return Decimal("0.00")
    installments = schedules.unpaid_installments_for_update(loan_ids=[loan.pk for loan in loans])
    parts, _left = schedules.allocation_plan(
        loans=loans, installments=installments, amount=min(amount, owed)
    )
    schedules.allocations_apply(
        parts, repayment=None, paid_on=paid_on or timezone.localdate(), actor=actor, reason=reason
    )
    _loans_save(list({part.loan.pk: part.loan for part in parts}.values()), actor=actor,
                reason=reason)  # fmt: skip
    delinquency_refresh_account(account_id=account_id)
    return sum((part.amount for part in parts), Decimal("0.00"))
