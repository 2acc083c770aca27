"""Step-up authentication: approving a closure or a decision, reversing a closure and seeing
unmasked personal data need a one-time code entered within STEPUP_WINDOW (15 minutes), in the
same session.

Services call `stepup_require(actor=...)`, so the rule holds for admin, API and tasks alike.
A verification is bound to the session that made it: within an HTTP request only codes
recorded with that request's session key count (core.net.current_session_key(), put there by
core.activity.ActivityContextMiddleware), so a second session of the same manager (another
browser, a stolen cookie's own session) must enter a code of its own, and a request without a
session (an API token) never counts as stepped up. The TOTP sign-in itself is a verification
of the session it opens (`stepup_record`, called by the admin login). Outside any request (a
task or command acting for a staff member) there is no session to bind to: any verification of
the user within the window counts.
"""

from __future__ import annotations

from enum import Enum
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.shortcuts import resolve_url
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user

from .activity import activity_record
from .errors import ApplicationError
from .models import StepUpVerification
from .net import current_session_key

_CURRENT = object()


def stepup_record(*, user, session_key: str, purpose: str) -> StepUpVerification:
    """Record a one-time code already verified (the TOTP sign-in) for `session_key`."""
    verification = StepUpVerification.objects.create(
        user=user, session_key=session_key or "", purpose=purpose
    )
    activity_record(actor=user, action="auth.stepup", obj=user, reason=purpose)
    return verification


class StepUpResult(str, Enum):
    """What became of a one-time code: accepted, wrong, or refused unchecked because
    django-otp's throttle holds the device after repeated failures (wait, then retry)."""

    OK = "ok"
    INVALID = "invalid"
    THROTTLED = "throttled"


def stepup_check(*, user, token: str, session_key: str = "", purpose: str = "") -> StepUpResult:
    """Check `token` against the user's confirmed OTP devices; record it for `session_key`
    when it matches. A device under django-otp's throttle is not asked at all (it would say
    no to the right code too): THROTTLED when no other device accepted the code."""
    token = (token or "").strip().replace(" ", "")
    if not token:
        return StepUpResult.INVALID
    throttled = False
    for device in devices_for_user(user, confirmed=True):
        verify_is_allowed = getattr(device, "verify_is_allowed", None)
        if verify_is_allowed is not None and not verify_is_allowed()[0]:
            throttled = True
            continue
        if device.verify_token(token):
            stepup_record(user=user, session_key=session_key, purpose=purpose)
            return StepUpResult.OK
    activity_record(actor=user, action="auth.stepup_failed", obj=user, reason=purpose)
    return StepUpResult.THROTTLED if throttled else StepUpResult.INVALID


def stepup_verify(*, user, token: str, session_key: str = "", purpose: str = "") -> bool:
    """`stepup_check` answered yes or no."""
    return (
        stepup_check(user=user, token=token, session_key=session_key, purpose=purpose)
        is StepUpResult.OK
    )


def stepup_wait_seconds(*, user) -> int:
    """How long django-otp's throttle still refuses the user's devices (0: not throttled)."""
    now = timezone.now()
    waits = [0]
    for device in devices_for_user(user, confirmed=True):
        verify_is_allowed = getattr(device, "verify_is_allowed", None)
        if verify_is_allowed is None:
            continue
        allowed, info = verify_is_allowed()
        locked_until = (info or {}).get("locked_until")
        if not allowed and locked_until is not None:
            waits.append(max(1, int((locked_until - now).total_seconds()) + 1))
    return max(waits)


def stepup_refusal(result: StepUpResult, *, user) -> str:
    """What to tell a person whose code was not accepted: a throttled device asks them to wait
    (the code may well have been right), a wrong code to enter the current one."""
    if result is StepUpResult.THROTTLED:
        return _(
            "Too many wrong codes in a row: wait a moment (about %(seconds)d seconds), then "
            "enter the current code."
        ) % {"seconds": stepup_wait_seconds(user=user)}
    return _("That code is not valid. Enter the current code from your authenticator.")


def stepup_is_fresh(*, user, session_key: str | None | object = _CURRENT) -> bool:
    """A code in the last STEPUP_WINDOW, entered in `session_key` (by default the current
    request's session; outside a request, in any session)."""
    if session_key is _CURRENT:
        session_key = current_session_key()
    since = timezone.now() - settings.STEPUP_WINDOW
    verifications = StepUpVerification.objects.filter(user=user, verified_at__gte=since)
    if session_key is not None:
        if not session_key:
            return False  # a request without a session (an API token) is never stepped up
        verifications = verifications.filter(session_key=session_key)
    return verifications.exists()


def stepup_require(*, actor) -> None:
    if not stepup_is_fresh(user=actor):
        raise ApplicationError(
            _("Enter a one-time code from your authenticator first (valid for 15 minutes)."),
            code="stepup_required",
            status=403,
        )


def stepup_url(next_url: str) -> str:
    """Where to send a staff member who needs a fresh code before `next_url`."""
    return f"{resolve_url('admin:stepup')}?{urlencode({REDIRECT_FIELD_NAME: next_url})}"
