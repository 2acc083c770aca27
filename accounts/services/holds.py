"""Holds and the account's lifecycle: the security freeze, lending ended by a closure (limit to
zero, `closing` or `closed`), lending restored from a snapshot (an upheld appeal), and closing.

`account_freeze` and `account_unfreeze` are transactions of their own. The others run inside
the caller's transaction, which already holds the account's lock (accounts.locks); each records
the actor and reason it is given in the account's history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import save_with_history
from core.errors import ApplicationError

from .. import locks
from ..enums import AccountStatus
from ..models import ZERO, CreditAccount, User
from .common import account_transition_check, available_after_restore

_LENDING_END_STATUSES = (AccountStatus.CLOSING, AccountStatus.CLOSED)


@transaction.atomic
def account_freeze(*, actor: User, reason: str, account_id: int) -> CreditAccount:
    """Security hold: no new loans, repayments still accepted."""
    account = locks.account_for_update(account_id=account_id)
    if account.status == AccountStatus.FROZEN:
        return account
    account_transition_check(account, AccountStatus.FROZEN)
    account.status = AccountStatus.FROZEN
    save_with_history(account, actor=actor, reason=reason, update_fields=["status"])
    return account


@transaction.atomic
def account_unfreeze(*, actor: User, reason: str, account_id: int) -> CreditAccount:
    account = locks.account_for_update(account_id=account_id)
    if account.status != AccountStatus.FROZEN:
        raise ApplicationError(_("The account is not frozen."), code="not_frozen")
    account.status = AccountStatus.ACTIVE
    save_with_history(account, actor=actor, reason=reason, update_fields=["status"])
    return account


def account_set_status(
    *,
    account: CreditAccount,
    new_status: str,
    actor: User,
    reason: str,
    extra_fields: Iterable[str] = (),
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


@dataclass(frozen=True)
class AccountSnapshot:
    """What an account was before its lending ended, to restore it exactly."""

    status: str
    credit_limit: Decimal
    available_credit: Decimal
    outstanding_balance: Decimal
    closed_at: datetime | None


def account_lending_end(
    *, account: CreditAccount, new_status: str, actor: User, reason: str, now: datetime
) -> AccountSnapshot:
    """A closure takes effect: the limit and the available credit go to zero and the account
    becomes `closing` (money still owed, payable on its schedule) or `closed` (at `now`).
    Returns the snapshot taken before the change."""
    if new_status not in _LENDING_END_STATUSES:
        raise ApplicationError(
            _("Lending ends with the account closing or closed."),
            code="invalid_account_transition",
        )
    account_transition_check(account, new_status)
    snapshot = AccountSnapshot(
        status=account.status,
        credit_limit=account.credit_limit,
        available_credit=account.available_credit,
        outstanding_balance=account.outstanding_balance,
        closed_at=account.closed_at,
    )
    account.status = new_status
    account.credit_limit = ZERO
    account.available_credit = ZERO
    if new_status == AccountStatus.CLOSED:
        account.closed_at = now
    save_with_history(
        account,
        actor=actor,
        reason=reason,
        update_fields=["status", "closed_at", "credit_limit", "available_credit"],
    )
    return snapshot


def account_lending_restore(
    *, account: CreditAccount, snapshot: AccountSnapshot, actor: User, reason: str
) -> None:
    """Undo `account_lending_end`: the limit comes back, the available credit is what it was
    plus what was repaid since (capped at the limit), and the account is `active` again with
    the closing date it had before."""
    account_transition_check(account, AccountStatus.ACTIVE)
    account.credit_limit = snapshot.credit_limit
    account.available_credit = available_after_restore(
        credit_limit=snapshot.credit_limit,
        available_before=snapshot.available_credit,
        balance_before=snapshot.outstanding_balance,
        balance_now=account.outstanding_balance,
    )
    account.status = AccountStatus.ACTIVE
    account.closed_at = snapshot.closed_at
    save_with_history(
        account,
        actor=actor,
        reason=reason,
        update_fields=["status", "closed_at", "credit_limit", "available_credit"],
    )


def account_close(*, account: CreditAccount, actor: User, reason: str, now: datetime) -> None:
    """A `closing` account has nothing left to pay: it is `closed` at `now`."""
    if account.status != AccountStatus.CLOSING:
        raise ApplicationError(
            _("Only a closing account can be closed this way; it is %(status)s.")
            % {"status": account.get_status_display()},
            code="invalid_account_transition",
        )
    account.status = AccountStatus.CLOSED
    account.closed_at = now
    save_with_history(account, actor=actor, reason=reason, update_fields=["status", "closed_at"])
