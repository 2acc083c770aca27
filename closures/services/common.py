"""What the closures services share: the transition check, the permission check, the customer
notice and its context, and the steps that open or end a closure without it taking effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.enums import AccountStatus
from accounts.models import CreditAccount, User
from accounts.services import account_unfreeze
from core.audit import save_with_history
from core.errors import ApplicationError
from notices.services import notice_enqueue

from .. import events, selectors
from ..enums import CLOSURE_TRANSITIONS, REPORTED_REASONS, ClosureReason, ClosureStatus
from ..models import ClosureRequest


def closure_move(closure: ClosureRequest, new_status: str) -> str:
    """Check the transition under the lock and set the new status; returns the old one."""
    old = closure.status
    if new_status not in CLOSURE_TRANSITIONS[old]:
        raise ApplicationError(
            _("The closure cannot go from %(old)s to %(new)s.")
            % {"old": closure.get_status_display(), "new": ClosureStatus(new_status).label},
            code="invalid_closure_transition",
        )
    closure.status = new_status
    return old


def permission_require(actor: User, perm: str) -> None:
    """Staff need `perm`; a system actor (a command or task, `system:<name>`) acts for the
    platform and passes."""
    if actor.is_system:
        return
    if not (actor.is_active and actor.is_staff and actor.has_perm(perm)):
        raise ApplicationError(
            _("You are not allowed to do this."), code="permission_denied", status=403
        )


def is_owner(actor: User, account: CreditAccount) -> bool:
    return account.customer.user_id == actor.pk


def closure_context(closure: ClosureRequest, account: CreditAccount) -> dict[str, Any]:
    return {
        "closure_id": closure.pk,
        "reason": closure.reason,
        "reason_label": ClosureReason(closure.reason).label,
        "explanation": closure.explanation,
        "account": account.number_masked,
        "outstanding_balance": f"{account.outstanding_balance:.2f}",
        "effective_at": closure.effective_at,
        "appeal_deadline": closure.appeal_deadline,
        "appeal_link": closure.appeal_link,
        "portal_link": f"{settings.PORTAL_BASE_URL}/portal/accounts/{account.pk}/",
        "reported": closure.reason in REPORTED_REASONS,
    }


def customer_notify(
    closure: ClosureRequest, account: CreditAccount, event: str, *, actor: User
) -> None:
    """A notice about this closure to the account's customer, with the closure's context."""
    notice_enqueue(
        event=event,
        recipient=account.customer.user,
        context=closure_context(closure, account),
        actor=actor,
        obj=closure,
    )


def closure_save_new(closure: ClosureRequest, *, actor: User, reason: str) -> None:
    try:
        with transaction.atomic():
            save_with_history(closure, actor=actor, reason=reason)
    except IntegrityError as exc:
        # The partial unique index: another open closure won a race for this account.
        raise ApplicationError(
            _("This account already has a closure in progress."), code="closure_exists"
        ) from exc


def account_refuse_if_not_closable(account: CreditAccount) -> None:
    """Only an active or frozen account without an open closure may get a new one."""
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.FROZEN):
        raise ApplicationError(
            _("The account is %(status)s and cannot be closed.")
            % {"status": account.get_status_display()},
            code="account_not_closable",
        )
    if selectors.closure_open_for_account(account_id=account.pk) is not None:
        raise ApplicationError(
            _("This account already has a closure in progress."), code="closure_exists"
        )


def unfreeze_if_we_froze(
    closure: ClosureRequest, account: CreditAccount, *, actor: User, reason: str
) -> bool:
    if closure.froze_account and account.status == AccountStatus.FROZEN:
        account_unfreeze(actor=actor, reason=reason, account_id=account.pk)
        account.refresh_from_db(fields=["status"])
        return True
    return False


def closure_end_unclosed(
    closure: ClosureRequest,
    account: CreditAccount,
    *,
    status: str,
    actor: User,
    reason: str,
    now: datetime | None = None,
) -> tuple[str, bool]:
    """Reject or withdraw: the closure ends without taking effect, decided by `actor`, and a
    freeze it put on the account is lifted. Returns the old status and whether it lifted one."""
    old = closure_move(closure, status)
    closure.decided_by = actor
    closure.ended_at = now or timezone.now()
    save_with_history(
        closure, actor=actor, reason=reason, update_fields=["status", "decided_by", "ended_at"]
    )
    write_event = (
        events.closure_rejected_event
        if status == ClosureStatus.REJECTED
        else events.closure_withdrawn_event
    )
    write_event(closure=closure, actor=actor, old_status=old, reason=reason)
    lifted = unfreeze_if_we_froze(closure, account, actor=actor, reason=reason)
    return old, lifted
