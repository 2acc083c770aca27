"""Every write of the accounts domain. Each function is one transaction that locks the rows it
changes first, checks the allowed-from state under the lock, and records who and why."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto
from core.audit import save_with_history
from core.errors import ApplicationError

from . import hooks, selectors
from .enums import (
    ACCOUNT_LENDING_STATUSES,
    ACCOUNT_TRANSITIONS,
    LOAN_TRANSITIONS,
    AccountStatus,
    AuthOutcome,
    Language,
    LoanStatus,
    RiskSignalSource,
)
from .models import (
    ZERO,
    AuthorizationEvent,
    CreditAccount,
    Customer,
    LoanRecord,
    Repayment,
    RiskSignal,
    User,
)


def _reference(prefix: str) -> str:
    return f"{prefix}{timezone.now():%Y%m%d}{secrets.token_hex(5).upper()}"


def account_number_new() -> str:
    return "62" + "".join(secrets.choice("0123456789") for _ in range(14))


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


# --- Customers and accounts -------------------------------------------------------------------


@transaction.atomic
def customer_create(
    *,
    actor: User,
    reason: str,
    username: str,
    password: str | None,
    name: str,
    national_id: str,
    phone: str,
    email: str = "",
    preferred_language: str = Language.ZH_HANS,
) -> Customer:
    if Customer.objects.filter(national_id_index=crypto.blind_index(national_id)).exists():
        raise ApplicationError(
            _("A customer with this national ID number already exists."),
            code="duplicate_customer",
            status=400,
            fields={"national_id": [_("Already registered.")]},
        )
    user = User(username=username, email=email, first_name=name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    save_with_history(user, actor=actor, reason=reason)
    customer = Customer(
        user=user,
        name=name,
        national_id=crypto.normalize(national_id),
        national_id_index=crypto.blind_index(national_id),
        phone=crypto.normalize(phone),
        phone_index=crypto.blind_index(phone),
        preferred_language=preferred_language,
    )
    save_with_history(customer, actor=actor, reason=reason)
    return customer


@transaction.atomic
def account_open(
    *,
    actor: User,
    reason: str,
    customer: Customer,
    credit_limit: Decimal,
    interest_free_days: int = 30,
    number: str | None = None,
) -> CreditAccount:
    if credit_limit < 0:
        raise ApplicationError(
            _("The credit limit cannot be negative."),
            code="invalid",
            status=400,
            fields={"credit_limit": [_("Must be zero or more.")]},
        )
    account = CreditAccount(
        number=number or account_number_new(),
        customer=customer,
        credit_limit=credit_limit,
        available_credit=credit_limit,
        interest_free_days=interest_free_days,
    )
    save_with_history(account, actor=actor, reason=reason)
    return account


# --- Loans and their authorization trail ------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationInput:
    method: str
    channel: str
    partner_interface: str = ""
    device_id: str = ""
    ip_address: str | None = None
    consent_reference: str = ""
    occurred_at: datetime | None = None
    outcome: str = AuthOutcome.SUCCESS


@transaction.atomic
def loan_record(
    *,
    actor: User,
    reason: str,
    account_id: int,
    amount: Decimal,
    kind: str,
    channel: str,
    merchant: str = "",
    partner_interface: str = "",
    fees: Decimal = ZERO,
    interest: Decimal = ZERO,
    due_date: date | None = None,
    created_at: datetime | None = None,
    authorization: AuthorizationInput | None = None,
) -> LoanRecord:
    """Post a loan against available credit, with the authorization event behind it (if any)."""
    account = selectors.account_for_update(account_id=account_id)
    if account.status not in ACCOUNT_LENDING_STATUSES:
        raise ApplicationError(
            _("No new loans can be posted on an account that is %(status)s.")
            % {"status": account.get_status_display()},
            code="account_not_lending",
        )
    if amount <= 0:
        raise ApplicationError(
            _("The amount must be positive."),
            code="invalid",
            status=400,
            fields={"amount": [_("Must be more than zero.")]},
        )
    if amount > account.available_credit:
        raise ApplicationError(
            _("The amount exceeds the available credit."), code="insufficient_credit"
        )
    now = created_at or timezone.now()
    loan = LoanRecord(
        reference=_reference("LN"),
        account=account,
        amount=amount,
        outstanding_amount=amount,
        fees=fees,
        interest=interest,
        kind=kind,
        channel=channel,
        merchant=merchant,
        partner_interface=partner_interface,
        created_at=now,
        due_date=due_date,
    )
    save_with_history(loan, actor=actor, reason=reason)
    if authorization is not None:
        event = AuthorizationEvent(
            account=account,
            loan=loan,
            method=authorization.method,
            channel=authorization.channel,
            partner_interface=authorization.partner_interface,
            device_id=authorization.device_id,
            ip_address=authorization.ip_address,
            consent_reference=authorization.consent_reference,
            occurred_at=authorization.occurred_at or now,
            outcome=authorization.outcome,
        )
        save_with_history(event, actor=actor, reason=reason)
    account.outstanding_balance += amount
    account.available_credit -= amount
    save_with_history(
        account,
        actor=actor,
        reason=reason,
        update_fields=["outstanding_balance", "available_credit"],
    )
    return loan


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

    An account in `closing` whose balance reaches zero is closed in the same transaction.
    """
    account = selectors.account_for_update(account_id=account_id)
    if amount <= 0:
        raise ApplicationError(
            _("The amount must be positive."),
            code="invalid",
            status=400,
            fields={"amount": [_("Must be more than zero.")]},
        )
    if amount > account.outstanding_balance:
        raise ApplicationError(
            _("The repayment exceeds the outstanding balance."),
            code="overpayment",
            status=400,
            fields={"amount": [_("More than the outstanding balance.")]},
        )
    loans = selectors.open_loans_for_update(account_id=account.pk, loan_id=loan_id)
    if loan_id is not None and not loans:
        raise ApplicationError(_("That loan has nothing left to repay."), code="loan_not_open")
    remaining = amount
    for loan in loans:
        if remaining <= 0:
            break
        part = min(remaining, loan.outstanding_amount)
        loan.outstanding_amount -= part
        remaining -= part
        fields = ["outstanding_amount"]
        if loan.outstanding_amount == 0 and loan.status == LoanStatus.POSTED:
            loan.status = LoanStatus.REPAID
            fields.append("status")
        save_with_history(loan, actor=actor, reason=reason, update_fields=fields)
    if remaining > 0 and loan_id is not None:
        raise ApplicationError(
            _("The repayment exceeds what is owed on that loan."),
            code="overpayment",
            status=400,
            fields={"amount": [_("More than the loan's outstanding amount.")]},
        )
    repayment = Repayment(
        reference=_reference("RP"),
        account=account,
        loan_id=loan_id,
        amount=amount,
        channel=channel,
        paid_at=paid_at or timezone.now(),
    )
    save_with_history(repayment, actor=actor, reason=reason)
    account.outstanding_balance -= amount
    account.available_credit = min(account.credit_limit, account.available_credit + amount)
    save_with_history(
        account,
        actor=actor,
        reason=reason,
        update_fields=["outstanding_balance", "available_credit"],
    )
    if account.outstanding_balance == 0:
        # E.g. the closure that put the account in `closing` completes now (closures owns that
        # rule and registers it in accounts.hooks).
        hooks.balance_settled(account=account, actor=actor)
    return repayment


# --- Holds --------------------------------------------------------------------------------------


@transaction.atomic
def account_freeze(*, actor: User, reason: str, account_id: int) -> CreditAccount:
    """Security hold: no new loans, repayments still accepted."""
    account = selectors.account_for_update(account_id=account_id)
    if account.status == AccountStatus.FROZEN:
        return account
    account_transition_check(account, AccountStatus.FROZEN)
    account.status = AccountStatus.FROZEN
    save_with_history(account, actor=actor, reason=reason, update_fields=["status"])
    return account


@transaction.atomic
def account_unfreeze(*, actor: User, reason: str, account_id: int) -> CreditAccount:
    account = selectors.account_for_update(account_id=account_id)
    if account.status != AccountStatus.FROZEN:
        raise ApplicationError(_("The account is not frozen."), code="not_frozen")
    account.status = AccountStatus.ACTIVE
    save_with_history(account, actor=actor, reason=reason, update_fields=["status"])
    return account


def account_set_status(
    *, account: CreditAccount, new_status: str, actor: User, reason: str, extra_fields=()
) -> CreditAccount:
    """For other apps' services that already hold the account's lock (closures, appeals)."""
    account_transition_check(account, new_status)
    account.status = new_status
    if new_status == AccountStatus.CLOSED:
        account.closed_at = account.closed_at or timezone.now()
    elif new_status == AccountStatus.ACTIVE:
        account.closed_at = None
    save_with_history(
        account,
        actor=actor,
        reason=reason,
        update_fields=["status", "closed_at", *extra_fields],
    )
    return account


# --- Risk signals --------------------------------------------------------------------------------


@transaction.atomic
def risk_signal_raise(
    *,
    actor: User,
    reason: str,
    account_id: int,
    kind: str,
    severity: str,
    source: str = RiskSignalSource.SYSTEM,
    details: dict | None = None,
) -> RiskSignal:
    account = selectors.account_for_update(account_id=account_id)
    signal = RiskSignal(
        account=account,
        kind=kind,
        severity=severity,
        source=source,
        details=details or {},
        raised_by=actor,
    )
    save_with_history(signal, actor=actor, reason=reason)
    return signal


def user_sessions_revoke(*, user: User, actor: User, reason: str) -> None:
    """Sign the user out everywhere: a new security stamp invalidates every session hash, and
    their API tokens are deleted (credentials, not domain data)."""
    from rest_framework.authtoken.models import Token

    from .models import _new_security_stamp

    Token.objects.filter(user=user).delete()
    user.security_stamp = _new_security_stamp()
    save_with_history(user, actor=actor, reason=reason, update_fields=["security_stamp"])
