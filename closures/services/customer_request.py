"""The customer closes their own account: a request, a one-time code by SMS or email, the code
confirmed (the closure is approved at once, no review), and requests never confirmed withdrawn
after a day by the sweep."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors as account_selectors
from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError
from notices.services import notice_enqueue

from .. import events, locks, selectors
from ..enums import ClosureReason, ClosureSource, ClosureStatus, OtpChannel
from ..models import ClosureRequest
from .common import (
    account_refuse_if_not_closable,
    closure_move,
    closure_save_new,
    customer_notify,
)

UNCONFIRMED_HOURS = 24
CONFIRMED_REASON = "confirmed with a one-time code"

# Why a code was refused: (error code, message). Lazy: written here as literals for the
# catalogs, translated when raised, in the customer's language.
_CODE_ERRORS = {
    "missing": (
        "otp_missing",
        gettext_lazy("No code is waiting for this request: ask for a new one."),
    ),
    "expired": ("otp_expired", gettext_lazy("The code has expired: ask for a new one.")),
    "locked": ("otp_locked", gettext_lazy("Too many wrong codes: ask for a new one.")),
    "wrong": ("otp_invalid", gettext_lazy("The code is not correct.")),
}


def _code_send(closure: ClosureRequest, *, actor: User, channel: str) -> None:
    device = locks.otp_device_get_or_create_for_update(user=actor, channel=channel)
    if device.channel != channel:
        device.channel = channel
        device.save(update_fields=["channel"])
    allowed, _details = device.generate_is_allowed()
    if not allowed:
        raise ApplicationError(
            _("A code was sent a moment ago. Please wait a minute before asking for another."),
            code="throttled",
            status=429,
        )
    code = device.code_issue(purpose=f"closure:{closure.pk}")
    notice_enqueue(
        event="closure.code",
        recipient=actor,
        context={
            "code": code,
            "minutes": getattr(settings, "CLOSURE_OTP_VALIDITY", 300) // 60,
            "account": closure.account.number_masked,
        },
        actor=actor,
        obj=closure,
        channels=[channel],
        sensitive=True,
        key=str(device.sent_count),
    )
    events.closure_code_sent_event(closure=closure, actor=actor, channel=channel)


@transaction.atomic
def closure_request_by_customer(
    *, actor: User, account_id: int, channel: str = OtpChannel.SMS, reason: str = ""
) -> ClosureRequest:
    """The customer asks to close their account; a one-time code goes out by SMS or email."""
    account = account_selectors.account_for_user(user=actor, account_id=account_id)
    account = account_selectors.account_for_update(account_id=account.pk)
    if channel not in OtpChannel.values:
        raise ApplicationError(
            _("Choose how to receive the code."),
            code="invalid",
            status=400,
            fields={"channel": [_("Not a valid choice.")]},
        )
    account_refuse_if_not_closable(account)
    why = reason or "customer asked to close the account"
    closure = ClosureRequest(
        account=account,
        reason=ClosureReason.CUSTOMER_REQUEST,
        status=ClosureStatus.AWAITING_CONFIRMATION,
        source=ClosureSource.CUSTOMER,
        proposed_by=actor,
        notice_days=settings.CLOSURE_NOTICE_DAYS.get(ClosureReason.CUSTOMER_REQUEST, 0),
        pre_status=account.status,
    )
    closure_save_new(closure, actor=actor, reason=why)
    events.closure_requested_event(closure=closure, actor=actor, reason=why)
    _code_send(closure, actor=actor, channel=channel)
    return closure


@transaction.atomic
def closure_code_resend(
    *, actor: User, closure_id: int, channel: str = OtpChannel.SMS
) -> ClosureRequest:
    closure = selectors.closure_for_user(user=actor, closure_id=closure_id)
    closure = locks.closure_for_update(closure_id=closure.pk)
    if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
        raise ApplicationError(
            _("This closure request no longer needs a code."), code="invalid_closure_transition"
        )
    _code_send(closure, actor=actor, channel=channel)
    return closure


def closure_confirm(
    *, actor: User, closure_id: int, otp: str, now: datetime | None = None
) -> ClosureRequest:
    """The customer enters the code. A wrong try is counted (and committed) before the error is
    raised, so the attempt limit holds; a right code is consumed and cannot be used again."""
    closure = selectors.closure_for_user(user=actor, closure_id=closure_id)
    with transaction.atomic():
        device = locks.otp_device_for_update(user=actor)
        result = (
            "missing"
            if device is None
            else device.code_check(purpose=f"closure:{closure.pk}", code=otp)
        )
    if result != "ok":
        code, lazy_message = _CODE_ERRORS[result]
        message = str(lazy_message)  # in the active language
        raise ApplicationError(message, code=code, status=400, fields={"otp": [message]})
    return _closure_confirmed(actor=actor, closure_id=closure.pk, now=now)


@transaction.atomic
def _closure_confirmed(*, actor: User, closure_id: int, now: datetime | None) -> ClosureRequest:
    now = now or timezone.now()
    account, closure = locks.account_and_closure_for_update(closure_id=closure_id)
    old = closure_move(closure, ClosureStatus.APPROVED)
    closure.confirmed_at = now
    closure.approved_at = now
    closure.effective_at = now + timedelta(days=closure.notice_days)
    save_with_history(
        closure,
        actor=actor,
        reason=CONFIRMED_REASON,
        update_fields=["status", "confirmed_at", "approved_at", "effective_at"],
    )
    events.closure_confirmed_event(
        closure=closure, actor=actor, old_status=old, reason=CONFIRMED_REASON
    )
    customer_notify(closure, account, "closure.requested", actor=actor)
    return closure


@transaction.atomic
def closures_expire_unconfirmed(*, actor: User, now: datetime | None = None) -> int:
    """Customer requests never confirmed within a day are withdrawn, so they do not block the
    account forever. No account is touched, so only the closures are locked."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=UNCONFIRMED_HOURS)
    ids = list(
        ClosureRequest.objects.filter(
            status=ClosureStatus.AWAITING_CONFIRMATION, created_at__lt=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for closure in locks.closures_for_update(closure_ids=ids):
        if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
            continue
        old = closure_move(closure, ClosureStatus.WITHDRAWN)
        closure.ended_at = now
        save_with_history(
            closure, actor=actor, reason="not confirmed", update_fields=["status", "ended_at"]
        )
        events.closure_withdrawn_event(
            closure=closure, actor=actor, old_status=old, reason="not confirmed within 24 hours"
        )
    return len(ids)
