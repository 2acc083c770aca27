"""Step-up authentication: approving a closure or a decision, reversing a closure and seeing
unmasked personal data need a one-time code entered within STEPUP_WINDOW (15 minutes).

Services call `stepup_require(actor=...)`, so the rule holds for admin, API and tasks alike.
"""

from __future__ import annotations

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


def stepup_verify(*, user, token: str, session_key: str = "", purpose: str = "") -> bool:
    """Check `token` against the user's confirmed OTP devices; record it when it matches."""
    token = (token or "").strip()
    if not token:
        return False
    for device in devices_for_user(user, confirmed=True):
        if device.verify_token(token):
            StepUpVerification.objects.create(user=user, session_key=session_key, purpose=purpose)
            activity_record(actor=user, action="auth.stepup", obj=user, reason=purpose)
            return True
    activity_record(actor=user, action="auth.stepup_failed", obj=user, reason=purpose)
    return False


def stepup_is_fresh(*, user) -> bool:
    since = timezone.now() - settings.STEPUP_WINDOW
    return StepUpVerification.objects.filter(user=user, verified_at__gte=since).exists()


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
