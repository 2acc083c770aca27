"""Loans: posting one (with its authorization trail), disputing and un-disputing it, and
reversing upheld ones. The one rule of what a loan is once it stands again lives here
(`loan_settled_status`).

Apart from `loan_record` (its own transaction), these run inside the caller's transaction and
expect the caller to hold the account's lock and the loans' (accounts.locks, in the global
order); they record the actor and reason they are given in each row's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import save_with_history
from core.errors import ApplicationError

from .. import locks, schedules
from ..delinquency import delinquency_refresh_account
from ..enums import ACCOUNT_LENDING_STATUSES, AuthOutcome, LoanStatus
from ..models import ZERO, AuthorizationEvent, CreditAccount, LoanRecord, User
from .common import (
    BALANCE_FIELDS,
    amount_check,
    balance_charge,
    balance_credit_back,
    loan_transition_check,
    reference_new,
)


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


def _authorization_save(
    authorization: AuthorizationInput,
    *,
    loan: LoanRecord,
    at: datetime,
    actor: User,
    reason: str,
) -> None:
    event = AuthorizationEvent(
        account=loan.account,
        loan=loan,
        method=authorization.method,
        channel=authorization.channel,
        partner_interface=authorization.partner_interface,
        device_id=authorization.device_id,
        ip_address=authorization.ip_address,
        consent_reference=authorization.consent_reference,
        occurred_at=authorization.occurred_at or at,
        outcome=authorization.outcome,
    )
    save_with_history(event, actor=actor, reason=reason)


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
    months: int | None = None,
    schedule: list[tuple[date, Decimal]] | None = None,
) -> LoanRecord:
    """Post a loan against available credit, with the authorization event behind it (if any)
    and its repayment schedule (accounts/schedules.py: `months` for an installment loan,
    `schedule` for a loan booked with its own [(due_on, amount)])."""
    account = locks.account_for_update(account_id=account_id)
    if account.status not in ACCOUNT_LENDING_STATUSES:
        raise ApplicationError(
            _("No new loans can be posted on an account that is %(status)s.")
            % {"status": account.get_status_display()},
            code="account_not_lending",
        )
    amount_check(amount)
    if amount > account.available_credit:
        raise ApplicationError(
            _("The amount exceeds the available credit."), code="insufficient_credit"
        )
    now = created_at or timezone.now()
    plan = schedules.schedule_plan(
        kind=kind,
        amount=amount,
        taken_on=timezone.localdate(now),
        interest_free_days=account.interest_free_days,
        due_date=due_date,
        months=months,
        terms=schedule,
    )
    loan = LoanRecord(
        reference=reference_new("LN"),
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
        due_date=due_date or plan[-1].due_on,
    )
    save_with_history(loan, actor=actor, reason=reason)
    schedules.schedule_create(loan=loan, plan=plan, actor=actor, reason=reason)
    if authorization is not None:
        _authorization_save(authorization, loan=loan, at=now, actor=actor, reason=reason)
    balance_charge(account, amount)
    save_with_history(account, actor=actor, reason=reason, update_fields=BALANCE_FIELDS)
    delinquency_refresh_account(account_id=account.pk)
    return loan


def loan_settled_status(loan: LoanRecord) -> str:
    """What a loan that stands (not disputed, not reversed) is: posted while something is still
    owed on it, repaid once nothing is."""
    return LoanStatus.POSTED if loan.outstanding_amount > 0 else LoanStatus.REPAID


def loan_dispute(*, loan: LoanRecord, actor: User, reason: str) -> str:
    """The customer disputes the loan: `disputed`, collection paused. Returns the old status."""
    loan_transition_check(loan, LoanStatus.DISPUTED)
    old = loan.status
    loan.status = LoanStatus.DISPUTED
    loan.collection_paused = True
    save_with_history(
        loan, actor=actor, reason=reason, update_fields=["status", "collection_paused"]
    )
    delinquency_refresh_account(account_id=loan.account_id)  # it stops counting at once
    return old


def loan_undispute(*, loan: LoanRecord, actor: User, reason: str) -> None:
    """The dispute ends without a reversal (rejected, withdrawn): the loan stands again and
    collection resumes."""
    if loan.status != LoanStatus.DISPUTED:
        raise ApplicationError(
            _("The loan record %(ref)s is not disputed.") % {"ref": loan.reference},
            code="invalid_loan_transition",
        )
    new_status = loan_settled_status(loan)
    loan_transition_check(loan, new_status)
    loan.status = new_status
    loan.collection_paused = False
    save_with_history(
        loan, actor=actor, reason=reason, update_fields=["status", "collection_paused"]
    )
    delinquency_refresh_account(account_id=loan.account_id)  # it counts again


@dataclass(frozen=True)
class LoanReversal:
    """What reversing one loan gave back: the balance written off and what was refunded."""

    reversed_outstanding: Decimal
    refunded_repaid: Decimal
    refunded_fees: Decimal
    refunded_interest: Decimal


def loans_reverse(
    *, account: CreditAccount, loans: list[LoanRecord], actor: User, reason: str
) -> dict[int, LoanReversal]:
    """Reverse these loans of the account (an upheld dispute): each becomes `reversed` with
    nothing outstanding, no fees and no interest, collection paused; the account's balance goes
    down and its available credit up by what was still owed, in one save. Every loan is checked
    before any is changed. Returns what each reversal gave back, by loan id."""
    loans = sorted(loans, key=lambda loan: loan.pk)
    for loan in loans:
        if loan.account_id != account.pk:
            raise ApplicationError(
                _("The loan record %(ref)s is not on this account.") % {"ref": loan.reference},
                code="invalid",
            )
        loan_transition_check(loan, LoanStatus.REVERSED)
    reversals: dict[int, LoanReversal] = {}
    for loan in loans:
        reversals[loan.pk] = LoanReversal(
            reversed_outstanding=loan.outstanding_amount,
            refunded_repaid=loan.amount - loan.outstanding_amount,
            refunded_fees=loan.fees,
            refunded_interest=loan.interest,
        )
        loan.status = LoanStatus.REVERSED
        loan.outstanding_amount = ZERO
        loan.fees = ZERO
        loan.interest = ZERO
        loan.collection_paused = True
        save_with_history(
            loan,
            actor=actor,
            reason=reason,
            update_fields=["status", "outstanding_amount", "fees", "interest", "collection_paused"],
        )
    written_off = sum((r.reversed_outstanding for r in reversals.values()), ZERO)
    if written_off:  # nothing was owed any more: the account does not change
        balance_credit_back(account, written_off)
        save_with_history(account, actor=actor, reason=reason, update_fields=BALANCE_FIELDS)
    delinquency_refresh_account(account_id=account.pk)
    return reversals
