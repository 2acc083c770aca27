"""What the ledger's services share: references, the amount check, the transition checks, and
the balance arithmetic.

Each balance formula is written once here, on the model instance (the caller saves it):
a loan posted charges the account (`balance_charge`), money coming back to the account
credits it (`balance_credit_back`: repayments and reversed loans), a restored account gets back
what was available plus what was repaid since (`available_after_restore`), and a loan is paid
down with `loan_pay_down`. A credit entry (refund, compensation) is split between what is
owed and the account's credit balance (`credit_split`), a payout takes money out of the credit
balance (`credit_balance_pay_out`), and the ledger's "credits applied" figure (the part of the
credits that paid down what was owed) is `credits_applied` / `credits_applied_subquery`.
Nothing outside `accounts.services` calls the formulas that change an account.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ApplicationError

from ..enums import ACCOUNT_TRANSITIONS, LOAN_TRANSITIONS, AccountStatus, LoanStatus
from ..models import ZERO, AccountCredit, CreditAccount, LoanRecord

# The account columns the balance formulas change (the `update_fields` of their save).
BALANCE_FIELDS = ["outstanding_balance", "available_credit"]


def reference_new(prefix: str) -> str:
    return f"{prefix}{timezone.now():%Y%m%d}{secrets.token_hex(5).upper()}"


def amount_check(amount: Decimal) -> None:
    if amount <= 0:
        raise ApplicationError(
            _("The amount must be positive."),
            code="invalid",
            status=400,
            fields={"amount": [_("Must be more than zero.")]},
        )


def account_transition_check(account: CreditAccount, new_status: str) -> None:
    if new_status not in ACCOUNT_TRANSITIONS[account.status]:
        raise ApplicationError(
            _("The account cannot go from %(old)s to %(new)s.")
            % {"old": account.get_status_display(), "new": AccountStatus(new_status).label},
            code="invalid_account_transition",
        )


def loan_transition_check(loan: LoanRecord, new_status: str) -> None:
    if new_status not in LOAN_TRANSITIONS[loan.status]:
        raise ApplicationError(
            _("The loan record cannot go from %(old)s to %(new)s.")
            % {"old": loan.get_status_display(), "new": LoanStatus(new_status).label},
            code="invalid_loan_transition",
        )


# --- The balance formulas ----------------------------------------------------------------------


def balance_charge(account: CreditAccount, amount: Decimal) -> None:
    """A loan is posted: the balance goes up, the available credit down by the same amount."""
    account.outstanding_balance += amount
    account.available_credit -= amount


def balance_credit_back(account: CreditAccount, amount: Decimal) -> None:
    """Money comes back (a repayment, a reversed loan): the balance goes down and the available
    credit up by the same amount, never above the limit (a limit cut while money was owed)."""
    account.outstanding_balance -= amount
    account.available_credit = min(account.credit_limit, account.available_credit + amount)


def available_after_restore(
    *,
    credit_limit: Decimal,
    available_before: Decimal,
    balance_before: Decimal,
    balance_now: Decimal,
) -> Decimal:
    """The available credit of an account given back its limit: what was available before,
    plus what was repaid since, between zero and the limit."""
    repaid_since = balance_before - balance_now
    return max(ZERO, min(credit_limit, available_before + repaid_since))


def loan_pay_down(loan: LoanRecord, amount: Decimal) -> Decimal:
    """Pay up to `amount` off the loan; returns the part that was used."""
    part = min(amount, loan.outstanding_amount)
    loan.outstanding_amount -= part
    return part


def credit_split(account: CreditAccount, amount: Decimal, *, payable: Decimal) -> Decimal:
    """A credit entry of `amount`, of which `payable` paid down what was owed on the account's
    loans: the balance goes down (and the available credit up) by that part, the rest is held
    in the account's credit balance. Returns the part held. The outstanding balance never goes
    below zero (the database refuses it too)."""
    applied = min(amount, payable, account.outstanding_balance)
    balance_credit_back(account, applied)
    held = amount - applied
    account.credit_balance += held
    return held


def credit_balance_pay_out(account: CreditAccount, amount: Decimal) -> None:
    """A payout leaves the credit balance; never more than it holds."""
    if amount > account.credit_balance:
        raise ApplicationError(
            _("The payout exceeds the credit balance."),
            code="invalid",
            status=400,
            fields={"amount": [_("More than the credit balance.")]},
        )
    account.credit_balance -= amount


def credits_applied(*, account_id: int) -> Decimal:
    """The "credits applied" figure of one account: what its refunds and compensation paid
    down of what was owed (the reconciliation's outstanding = loans + fees - repayments -
    reversals - credits applied)."""
    total = AccountCredit.objects.filter(account_id=account_id).aggregate(t=Sum("applied_amount"))
    return total["t"] or ZERO


def credits_applied_subquery(account_ref: str = "pk") -> Coalesce:
    """The same figure as an expression to annotate accounts with, set-based
    (`CreditAccount.objects.annotate(applied=credits_applied_subquery())`)."""
    money = DecimalField(max_digits=14, decimal_places=2)
    per_account = (
        AccountCredit.objects.filter(account_id=OuterRef(account_ref))
        .order_by()
        .values("account_id")
        .annotate(t=Sum("applied_amount"))
        .values("t")
    )
    return Coalesce(Subquery(per_account, output_field=money), Value(ZERO), output_field=money)
