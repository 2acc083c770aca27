"""Repayments: money paid in moves the account's balance and available credit and the loans'
outstanding amounts and statuses together, in one transaction."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import save_with_history
from core.errors import ApplicationError

from .. import hooks, locks
from ..enums import LoanStatus
from ..models import LoanRecord, Repayment, User
from .common import (
    BALANCE_FIELDS,
    amount_check,
    balance_credit_back,
    loan_pay_down,
    reference_new,
)
from .loans import loan_settled_status


def _overpayment(message: str, field_message: str) -> ApplicationError:
    return ApplicationError(
        message, code="overpayment", status=400, fields={"amount": [field_message]}
    )


def _loans_pay_down(
    loans: list[LoanRecord], amount: Decimal, *, actor: User, reason: str
) -> Decimal:
    """Pay the loans in order until `amount` is used up; returns what is left over. A posted
    loan paid off becomes repaid; a disputed one stays disputed."""
    remaining = amount
    for loan in loans:
        if remaining <= 0:
            break
        remaining -= loan_pay_down(loan, remaining)
        fields = ["outstanding_amount"]
        if loan.status == LoanStatus.POSTED and loan_settled_status(loan) != loan.status:
            loan.status = loan_settled_status(loan)
            fields.append("status")
        save_with_history(loan, actor=actor, reason=reason, update_fields=fields)
    return remaining


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
    """Record a repayment: the account's balance and available credit and the loan's outstanding
    amount and status move together. Without a loan, the oldest open loans are paid first.

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
    remaining = _loans_pay_down(loans, amount, actor=actor, reason=reason)
    if remaining > 0 and loan_id is not None:
        raise _overpayment(
            _("The repayment exceeds what is owed on that loan."),
            _("More than the loan's outstanding amount."),
        )
    repayment = Repayment(
        reference=reference_new("RP"),
        account=account,
        loan_id=loan_id,
        amount=amount,
        channel=channel,
        paid_at=paid_at or timezone.now(),
    )
    save_with_history(repayment, actor=actor, reason=reason)
    balance_credit_back(account, amount)
    save_with_history(account, actor=actor, reason=reason, update_fields=BALANCE_FIELDS)
    if account.outstanding_balance == 0:
        hooks.balance_settled(account=account, actor=actor)
    return repayment
