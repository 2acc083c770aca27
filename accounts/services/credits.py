"""Credits: money the ledger gives back to the customer, as entries with their own reference.

A refund (what the customer had already repaid on a loan that is reversed) or a compensation
is booked with `credit_book`: it first pays down what is owed on the account's loans in
collection (`repayments.standing_loans_pay_down`: oldest due installment first, as a repayment
that names no loan; disputed and paused loans are left alone), and whatever is left is held in the account's own credit balance, which
never goes negative, as the outstanding balance never does (CHECK constraints). The credit
balance leaves the account only through `credit_pay_out`, itself an entry (kind `payout`).

`credit_book` runs inside the caller's transaction and expects the caller to hold the account's
lock (accounts.locks, in the global order); `credit_pay_out` is its own transaction. Every row
is saved with its history and its activity-trail entry (core.audit.save_with_history).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core.audit import save_with_history
from core.errors import ApplicationError, Forbidden

from .. import hooks, locks
from ..enums import CreditKind
from ..models import AccountCredit, CreditAccount, LoanRecord, User
from .common import (
    BALANCE_FIELDS,
    amount_check,
    credit_balance_pay_out,
    credit_split,
    credits_applied,
    credits_applied_subquery,
    reference_new,
)
from .repayments import standing_loans_pay_down

__all__ = [
    "CREDIT_FIELDS",
    "credit_book",
    "credit_pay_out",
    "credits_applied",
    "credits_applied_subquery",
]

# The account columns a credit changes.
CREDIT_FIELDS = [*BALANCE_FIELDS, "credit_balance"]
PAYOUT_PERMISSION = "accounts.pay_out_credit"


def credit_book(
    *,
    account: CreditAccount,
    kind: str,
    amount: Decimal,
    actor: User,
    reason: str,
    origin: str = "",
    loan: LoanRecord | None = None,
) -> AccountCredit:
    """Book a refund or a compensation on the (locked) account: what is owed goes down first,
    the rest is held in the credit balance. When the balance reaches zero,
    `hooks.balance_settled` runs in the same transaction (a closing account closes)."""
    if kind not in (CreditKind.REFUND, CreditKind.COMPENSATION):
        raise ApplicationError(_("Unknown kind of credit."), code="invalid", status=400)
    amount_check(amount)
    owed_before = account.outstanding_balance
    paid = standing_loans_pay_down(account_id=account.pk, amount=amount, actor=actor, reason=reason)
    held = credit_split(account, amount, payable=paid)
    credit = AccountCredit(
        reference=reference_new("CR"),
        account=account,
        kind=kind,
        amount=amount,
        applied_amount=amount - held,
        held_amount=held,
        loan=loan,
        origin=origin,
        reason=reason,
        created_by=actor,
    )
    save_with_history(credit, actor=actor, reason=reason)
    save_with_history(account, actor=actor, reason=reason, update_fields=CREDIT_FIELDS)
    if owed_before > 0 and account.outstanding_balance == 0:
        hooks.balance_settled(account=account, actor=actor)
    return credit


@transaction.atomic
def credit_pay_out(
    *, account_id: int, actor: User, reason: str, amount: Decimal | None = None
) -> AccountCredit:
    """Pay the account's credit balance (or `amount` of it) out to the customer (a manager,
    with the reason: where the money went). Recorded as a `payout` entry."""
    if not (actor.is_active and actor.is_staff and actor.has_perm(PAYOUT_PERMISSION)):
        raise Forbidden(_("You are not allowed to do this."), code="forbidden")
    if not reason.strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    account = locks.account_for_update(account_id=account_id)
    if amount is None:
        amount = account.credit_balance
        if amount <= 0:
            raise ApplicationError(
                _("The account holds no credit balance to pay out."), code="nothing_to_pay_out"
            )
    amount_check(amount)
    credit_balance_pay_out(account, amount)
    credit = AccountCredit(
        reference=reference_new("CR"),
        account=account,
        kind=CreditKind.PAYOUT,
        amount=amount,
        reason=reason.strip(),
        created_by=actor,
    )
    save_with_history(credit, actor=actor, reason=reason)
    save_with_history(account, actor=actor, reason=reason, update_fields=["credit_balance"])
    return credit
