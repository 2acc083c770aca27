"""Every row lock the closures domain takes (Saleor's `lock_objects.py`): the only place that
calls `select_for_update()` on closures' models.

One global order, the same in every app, so that two transactions never wait on each other in a
circle: customer -> account -> loans (by pk) -> complaint -> closure -> appeal. Closures lock the
account first (through accounts.locks), then the closure, then its appeal; several
rows of one model are locked in pk order.

`no_key=True` (FOR NO KEY UPDATE) everywhere here: no closures write changes a key column (a pk
or a unique column another row could reference), so inserts of events, appeals and alerts that
point at a locked row are not blocked by the lock (Zulip's rule).
"""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from accounts import locks as account_locks
from accounts.models import CreditAccount, User
from core.errors import ApplicationError

from .enums import ClosureStatus
from .models import Appeal, ClosureAlert, ClosureCampaign, ClosureRequest, CustomerOtpDevice


def closure_for_update(*, closure_id: int) -> ClosureRequest:
    """The closure, locked; 404 when there is none. Callers that also write the account lock it
    first: `account_and_closure_for_update`."""
    try:
        return ClosureRequest.objects.select_for_update(no_key=True).get(pk=closure_id)
    except (ClosureRequest.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def appeal_for_update(*, appeal_id: int) -> Appeal:
    try:
        return Appeal.objects.select_for_update(no_key=True).get(pk=appeal_id)
    except (Appeal.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def account_and_closure_for_update(*, closure_id: int) -> tuple[CreditAccount, ClosureRequest]:
    """The closure's account, then the closure (the global order)."""
    account_id = (
        ClosureRequest.objects.filter(pk=closure_id).values_list("account_id", flat=True).first()
    )
    if account_id is None:
        raise ApplicationError(_("No such closure."), code="not_found", status=404)
    account = account_locks.account_for_update(account_id=account_id)
    return account, closure_for_update(closure_id=closure_id)


def account_closure_and_appeal_for_update(
    *, appeal_id: int
) -> tuple[CreditAccount, ClosureRequest, Appeal]:
    """The appeal's account, its closure, then the appeal (the global order)."""
    closure_id = Appeal.objects.filter(pk=appeal_id).values_list("closure_id", flat=True).first()
    if closure_id is None:
        raise ApplicationError(_("No such appeal."), code="not_found", status=404)
    account, closure = account_and_closure_for_update(closure_id=closure_id)
    return account, closure, appeal_for_update(appeal_id=appeal_id)


def closing_closure_for_update(*, account_id: int) -> ClosureRequest | None:
    """The account's closure in `closing` (at most one: the partial unique index), locked. The
    caller holds the account's lock."""
    return (
        ClosureRequest.objects.select_for_update(no_key=True)
        .filter(account_id=account_id, status=ClosureStatus.CLOSING)
        .first()
    )


def closures_for_update(*, closure_ids: list[int]) -> list[ClosureRequest]:
    """Several closures, locked in pk order (for sweeps that touch no account)."""
    return list(
        ClosureRequest.objects.select_for_update(no_key=True)
        .filter(pk__in=closure_ids)
        .order_by("pk")
    )


def otp_device_for_update(*, user: User) -> CustomerOtpDevice | None:
    return CustomerOtpDevice.objects.select_for_update(no_key=True).filter(user=user).first()


def otp_device_get_or_create_for_update(*, user: User, channel: str) -> CustomerOtpDevice:
    """The customer's closure-code device, created on first use, locked."""
    device, _created = CustomerOtpDevice.objects.select_for_update(no_key=True).get_or_create(
        user=user, defaults={"name": "closure", "channel": channel, "confirmed": True}
    )
    return device


def alert_for_update(*, alert_id: int) -> ClosureAlert:
    try:
        return ClosureAlert.objects.select_for_update(no_key=True).get(pk=alert_id)
    except (ClosureAlert.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def campaign_for_update(*, campaign_id: int) -> ClosureCampaign:
    """A policy closure campaign, locked; 404 when there is none. A campaign batch locks it
    first and then only inserts closures (it locks no account: the partial unique index on open
    closures settles a race with any other proposal)."""
    try:
        return ClosureCampaign.objects.select_for_update(no_key=True).get(pk=campaign_id)
    except (ClosureCampaign.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc
