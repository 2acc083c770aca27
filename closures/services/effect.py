"""An approved closure takes effect on its date: the account's lending ends (accounts'
`account_lending_end`: limit to zero, `closing` while money is owed, else `closed`) and what the
account was is kept on the closure for an exact reversal; a `closing` account is closed when its
balance reaches zero (`closure_settle_on_zero_balance`, registered in accounts.hooks)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.enums import AccountStatus
from accounts.models import CreditAccount, User
from accounts.services import AccountSnapshot, account_close, account_lending_end
from core.audit import save_with_history

from .. import events, locks, selectors
from ..enums import REPORTED_REASONS, ClosureStatus
from ..models import ClosureRequest
from .common import closure_move, customer_notify

SETTLED_REASON = "balance repaid while closing"
# The account's status when its closure takes effect with this status.
_ACCOUNT_STATUS = {
    ClosureStatus.CLOSING: AccountStatus.CLOSING,
    ClosureStatus.CLOSED: AccountStatus.CLOSED,
}


def _snapshot_keep(closure: ClosureRequest, snapshot: AccountSnapshot) -> None:
    closure.pre_status = closure.pre_status or snapshot.status
    closure.pre_credit_limit = snapshot.credit_limit
    closure.pre_available_credit = snapshot.available_credit
    closure.pre_outstanding_balance = snapshot.outstanding_balance
    closure.pre_closed_at = snapshot.closed_at


def _account_closed(
    closure: ClosureRequest, account: CreditAccount, *, actor: User, reason: str
) -> None:
    """The closure's last steps once the account is closed: the event and the customer's notice."""
    events.closure_closed_event(closure=closure, actor=actor, reason=reason)
    customer_notify(closure, account, "closure.closed", actor=actor)


@transaction.atomic
def closure_take_effect(*, actor: User, closure_id: int, now: datetime | None = None) -> str:
    """An approved closure whose date has come: `closing` while money is owed (no new loans, the
    balance stays payable on its schedule), `closed` when nothing is owed. The account's limit
    goes to zero; what it was is kept on the closure for an exact reversal."""
    now = now or timezone.now()
    account, closure = locks.account_and_closure_for_update(closure_id=closure_id)
    if closure.status != ClosureStatus.APPROVED or (
        closure.effective_at is not None and closure.effective_at > now
    ):
        return closure.status  # withdrawn or not due any more: nothing to do
    new_status = ClosureStatus.CLOSING if account.outstanding_balance > 0 else ClosureStatus.CLOSED
    old = closure_move(closure, new_status)
    why = f"closure #{closure.pk} took effect"
    snapshot = account_lending_end(
        account=account, new_status=_ACCOUNT_STATUS[new_status], actor=actor, reason=why, now=now
    )
    _snapshot_keep(closure, snapshot)
    closure.took_effect_at = now
    closure.reported_to_bureau = closure.reason in REPORTED_REASONS
    if new_status == ClosureStatus.CLOSED:
        closure.closed_at = now
    save_with_history(
        closure,
        actor=actor,
        reason=why,
        update_fields=["status", "pre_status", "pre_credit_limit", "pre_available_credit",
                       "pre_outstanding_balance", "pre_closed_at", "took_effect_at", "closed_at",
                       "reported_to_bureau"],
    )  # fmt: skip
    events.closure_took_effect_event(closure=closure, actor=actor, old_status=old, reason=why)
    if new_status == ClosureStatus.CLOSED:
        _account_closed(closure, account, actor=actor, reason=why)
    return closure.status


def closures_take_effect(*, actor: User, now: datetime | None = None, limit: int = 500) -> int:
    """The periodic part: each due closure in its own short transaction."""
    now = now or timezone.now()
    ids = list(selectors.closures_due_for_effect(now).values_list("pk", flat=True)[:limit])
    done = 0
    for closure_id in ids:
        if closure_take_effect(actor=actor, closure_id=closure_id, now=now) in (
            ClosureStatus.CLOSING,
            ClosureStatus.CLOSED,
        ):
            done += 1
    return done


def closure_settle_on_zero_balance(*, account: CreditAccount, actor: User) -> None:
    """Called through accounts.hooks (registered in closures/apps.py) by the ledger, under the
    account's lock, when an account's balance reaches zero: a `closing` account's closure
    completes and the account is closed. Any other account is left alone."""
    if account.status != AccountStatus.CLOSING:
        return
    now = timezone.now()
    closure = locks.closing_closure_for_update(account_id=account.pk)
    if closure is None:
        # A closing account without its closure should not exist; close it anyway, the rule is
        # the account's.
        account_close(account=account, actor=actor, reason=SETTLED_REASON, now=now)
        return
    old = closure_move(closure, ClosureStatus.CLOSED)
    closure.closed_at = now
    save_with_history(
        closure, actor=actor, reason=SETTLED_REASON, update_fields=["status", "closed_at"]
    )
    events.closure_took_effect_event(
        closure=closure, actor=actor, old_status=old, reason=SETTLED_REASON
    )
    why = f"closure #{closure.pk}"
    account_close(account=account, actor=actor, reason=why, now=now)
    _account_closed(closure, account, actor=actor, reason=why)
