"""The customer closes their own account: a request, a one-time code by SMS or email, the code
confirmed (the closure is approved at once, no review; it takes effect at the end of the
confirmation day, Asia/Shanghai, and may be withdrawn until then), and requests never confirmed
withdrawn after a day by the sweep.

The code's limits (PRODUCT.md "Security", issue 14 item 6): wrong tries count across resends
(CLOSURE_OTP_MAX_ATTEMPTS per request, then the request is cancelled); sends are capped per
request (CLOSURE_CODE_MAX_SENDS) and per customer and local day (CLOSURE_CODE_MAX_SENDS_PER_DAY),
besides the resend cooldown. A code is never delivered expired: its notice carries the code's
expiry and is dropped when still unsent by then (issue 14 item 12); the code then dies with it
(`closure_code_notice_expired`, on notices' `on_expired` registry) and the customer is asked to
request a new one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors as account_selectors
from accounts.models import CreditAccount, User
from core.audit import save_with_history, system_actor
from core.errors import ApplicationError
from notices.services import notice_enqueue

from .. import events, locks, selectors
from ..enums import ClosureReason, ClosureSource, ClosureStatus, OtpChannel
from ..models import ClosureRequest, CustomerOtpDevice
from .common import (
    account_refuse_if_not_closable,
    closure_end_unclosed,
    closure_move,
    closure_save_new,
    customer_notify,
)

UNCONFIRMED_HOURS = 24
CONFIRMED_REASON = "confirmed with a one-time code"
WRONG_CODE_REASON = "wrong one-time code entered"
CODE_SENT_REASON = "one-time code sent"
CANCELLED_REASON = "cancelled: too many wrong one-time codes"
CODE_ACTOR = "closure-codes"

# Why a code was refused: (error code, message). Lazy: written here as literals for the
# catalogs, translated when raised, in the language of the request.
_CODE_ERRORS = {
    "missing": (
        "otp_missing",
        gettext_lazy("No code is waiting for this request: ask for a new one."),
    ),
    "expired": ("otp_expired", gettext_lazy("The code has expired: ask for a new one.")),
    "locked": (
        "otp_locked",
        gettext_lazy(
            "Too many wrong codes: this request is cancelled to protect your account. You may "
            "make a new request."
        ),
    ),
    "wrong": ("otp_invalid", gettext_lazy("The code is not correct.")),
}


def _purpose(closure: ClosureRequest) -> str:
    return f"closure:{closure.pk}"


def customer_closure_effective_at(confirmed_at: datetime, *, notice_days: int = 0) -> datetime:
    """When a customer's closure confirmed at `confirmed_at` takes effect: the end of that day in
    Asia/Shanghai (the next local midnight), plus any notice period configured for it."""
    zone = timezone.get_default_timezone()  # settings.TIME_ZONE, Asia/Shanghai
    day = timezone.localtime(confirmed_at, zone).date()
    end_of_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return end_of_day + timedelta(days=notice_days)


def closure_effective_if_confirmed(
    closure: ClosureRequest, *, now: datetime | None = None
) -> datetime | None:
    """What the customer is shown before confirming: the effective time if they confirm now.
    A confirmed closure has its own; a staff proposal has none before approval."""
    if closure.effective_at is not None:
        return closure.effective_at
    if (
        closure.reason != ClosureReason.CUSTOMER_REQUEST
        or closure.status != ClosureStatus.AWAITING_CONFIRMATION
    ):
        return None
    return customer_closure_effective_at(now or timezone.now(), notice_days=closure.notice_days)


def _refuse_if_over_send_caps(closure: ClosureRequest, device: CustomerOtpDevice) -> None:
    per_request = settings.CLOSURE_CODE_MAX_SENDS
    if closure.code_sends >= per_request:
        raise ApplicationError(
            _(
                "We have sent the most codes one request allows (%(count)s). Cancel this request "
                "and make a new one if you still want to close the account."
            )
            % {"count": per_request},
            code="otp_send_limit",
            status=429,
        )
    per_day = settings.CLOSURE_CODE_MAX_SENDS_PER_DAY
    if device.sends_today(today=timezone.localdate()) >= per_day:
        raise ApplicationError(
            _(
                "We have sent you %(count)s codes today, the most we send in one day. Please "
                "try again tomorrow."
            )
            % {"count": per_day},
            code="otp_daily_limit",
            status=429,
        )


def _channel_check(channel: str) -> None:
    if channel not in OtpChannel.values:
        raise ApplicationError(
            _("Choose how to receive the code."),
            code="invalid",
            status=400,
            fields={"channel": [_("Not a valid choice.")]},
        )


def _code_send(closure: ClosureRequest, *, actor: User, channel: str) -> None:
    """Issue and enqueue a code for `closure` (locked by the caller), within the caps."""
    _channel_check(channel)
    device = locks.otp_device_get_or_create_for_update(user=actor, channel=channel)
    _refuse_if_over_send_caps(closure, device)
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
    code = device.code_issue(purpose=_purpose(closure))
    notice_enqueue(
        event="closure.code",
        recipient=actor,
        context={
            "code": code,
            "minutes": settings.CLOSURE_OTP_VALIDITY // 60,
            "valid_until": device.valid_until,
            "account": closure.account.number_masked,
        },
        actor=actor,
        obj=closure,
        channels=[channel],
        sensitive=True,
        key=str(device.sent_count),
        # Unsent by the time the code expires, the notice is dropped: never an expired code.
        expires_at=device.valid_until,
    )
    closure.code_sends += 1
    closure.code_channel = channel
    save_with_history(
        closure,
        actor=actor,
        reason=CODE_SENT_REASON,
        update_fields=["code_sends", "code_channel"],
    )
    events.closure_code_sent_event(closure=closure, actor=actor, channel=channel)


@transaction.atomic
def closure_request_by_customer(
    *, actor: User, account_id: int, channel: str = OtpChannel.SMS, reason: str = ""
) -> ClosureRequest:
    """The customer asks to close their account; a one-time code goes out by SMS or email."""
    account = account_selectors.account_for_user(user=actor, account_id=account_id)
    account = account_selectors.account_for_update(account_id=account.pk)
    _channel_check(channel)
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
    """A new code for a request still awaiting one: the old code dies, the wrong tries so far
    still count, and the caps hold (per request, per day, the cooldown)."""
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
    """The customer enters the code. A wrong try is counted on the request (over every resend)
    and committed before the error is raised; the try that reaches CLOSURE_OTP_MAX_ATTEMPTS
    cancels the request. A right code is consumed and cannot be used again."""
    closure = selectors.closure_for_user(user=actor, closure_id=closure_id)
    with transaction.atomic():
        account, closure = locks.account_and_closure_for_update(closure_id=closure.pk)
        if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
            raise ApplicationError(
                _("This closure request no longer needs a code."),
                code="invalid_closure_transition",
            )
        device = locks.otp_device_for_update(user=actor)
        if closure.code_failures >= settings.CLOSURE_OTP_MAX_ATTEMPTS:
            result = "locked"
        elif device is None:
            result = "missing"
        else:
            result = device.code_check(purpose=_purpose(closure), code=otp)
        if result == "ok":
            return _closure_confirmed(closure, account, actor=actor, now=now)
        if result == "wrong":
            result = _code_failure(closure, account, device, actor=actor, now=now)
    code, lazy_message = _CODE_ERRORS[result]
    message = str(lazy_message)  # in the active language, now
    raise ApplicationError(message, code=code, status=400, fields={"otp": [message]})


def _code_failure(
    closure: ClosureRequest,
    account: CreditAccount,
    device: CustomerOtpDevice,
    *,
    actor: User,
    now: datetime | None,
) -> str:
    """Count a wrong try on the request; at the cap the request is cancelled and its code dies.
    Returns 'wrong' or 'locked'."""
    closure.code_failures += 1
    save_with_history(
        closure, actor=actor, reason=WRONG_CODE_REASON, update_fields=["code_failures"]
    )
    if closure.code_failures < settings.CLOSURE_OTP_MAX_ATTEMPTS:
        return "wrong"
    device.code_clear()
    closure_end_unclosed(
        closure,
        account,
        status=ClosureStatus.WITHDRAWN,
        actor=system_actor(CODE_ACTOR),
        reason=CANCELLED_REASON,
        now=now,
    )
    return "locked"


def _closure_confirmed(
    closure: ClosureRequest, account: CreditAccount, *, actor: User, now: datetime | None
) -> ClosureRequest:
    """The right code, under the locks: approved, taking effect at the end of the day."""
    now = now or timezone.now()
    old = closure_move(closure, ClosureStatus.APPROVED)
    closure.confirmed_at = now
    closure.approved_at = now
    closure.effective_at = customer_closure_effective_at(now, notice_days=closure.notice_days)
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


def closure_code_notice_expired(notice, *, actor: User) -> None:
    """notices' `on_expired["closure.code"]` hook (registered in closures/apps.py), in the
    transaction that drops a code notice still unsent at the code's expiry: if that code is
    still the one waiting, it dies too, so the confirm page asks for a new one."""
    closure = ClosureRequest.objects.filter(pk=notice.object_id).first()
    if closure is None or notice.recipient_id is None:
        return
    device = locks.otp_device_for_update(user=notice.recipient)
    # The notice's expiry is its code's `valid_until`: equal, it is the code still waiting.
    if (
        device is not None
        and device.purpose == _purpose(closure)
        and device.valid_until == notice.expires_at
    ):
        device.code_clear()


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
