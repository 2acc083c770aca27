"""Rate limits on the portal's forms (PRODUCT.md "Security", issue 14 item 1).

Counters are django-ratelimit's: fixed windows counted with the cache's atomic `add`/`incr`,
on the cache named by `RATELIMIT_USE_CACHE` (the default one: Redis when CACHE_URL is set, so
every worker and node counts together; one process's memory under `make run` and in tests).
The limits live in one place, `settings.PORTAL_RATE_LIMITS`::

    PORTAL_RATE_LIMITS = {"complaint": ("5/10m", "20/10m"), ...}
    #                     form          per customer  per IP

Usage (after `customer_required`, so that the customer is known)::

    @customer_required
    @rate_limited("complaint")
    def complaint_new(request): ...

Only POSTs count. Over either limit the view does not run (nothing is filed) and the answer is
HTTP 429 with `Retry-After`, a page in the portal's layout that keeps what the customer typed
(a "try again" form carrying the posted fields, passwords and codes left out). On the sign-in
and password pages nobody is signed in yet: the first limit counts per username instead.

The API has DRF's throttles (settings.REST_FRAMEWORK); `SharedAnonRateThrottle` and
`SharedUserRateThrottle` below count them with the same atomic counters on the same cache, so
that two workers racing cannot both pass the last allowed request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from .net import client_ip

logger = logging.getLogger(__name__)

# Posted fields never written back into a page.
SECRET_FIELDS = frozenset(
    {
        "csrfmiddlewaretoken",
        "password",
        "old_password",
        "new_password1",
        "new_password2",
        "otp",
        "otp_token",
        "code",
        # The one-time form token: the "try again" form carries a fresh one.
        "submission_token",
    }
)
# A typed value longer than this is shown back in a text area so it can be copied.
SHOWN_BACK_MIN_LENGTH = 20


def _typed_text(value: str) -> bool:
    """Text a person typed (shown back to copy), not a choice or an id: long, or not ASCII."""
    return len(value) >= SHOWN_BACK_MIN_LENGTH or (bool(value.strip()) and not value.isascii())


def _ip_key(group: str, request: HttpRequest) -> str:
    return client_ip(request) or "unknown"


def _customer_key(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    # Sign-in and password-reset pages: nobody is signed in; count per username instead.
    username = str(request.POST.get("username", "")).strip().lower()[:150]
    return f"username:{username}"


def limits_for(form: str) -> tuple[str, str]:
    """(per customer, per IP) rates of `form`, e.g. ("5/10m", "20/10m")."""
    try:
        return settings.PORTAL_RATE_LIMITS[form]
    except KeyError as exc:  # a typo in a view must not pass silently as "no limit"
        raise KeyError(f"No PORTAL_RATE_LIMITS entry for the form {form!r}") from exc


def rate_limit_usage(request: HttpRequest, form: str) -> int | None:
    """Count this request against both limits of `form`; the seconds until the busier window
    ends when either is exceeded, else None. Fails open (logged) when the cache is down: a
    form that cannot be counted is better than every customer refused."""
    per_customer, per_ip = limits_for(form)
    waits: list[int] = []
    for key, rate in ((_customer_key, per_customer), (_ip_key, per_ip)):
        try:
            usage = get_usage(
                request,
                group=f"portal:{form}:{key.__name__}",
                key=key,
                rate=rate,
                method="POST",
                increment=True,
            )
        except Exception:  # noqa: BLE001 - the cache's client errors vary by backend
            logger.warning("rate limit of %s not counted: cache unavailable", form, exc_info=True)
            return None
        if usage is not None and usage["should_limit"]:
            waits.append(max(int(usage["time_left"]), 1))
    return max(waits) if waits else None


def _typed_fields(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in SECRET_FIELDS
        for value in values
    ]


def _back_url(request: HttpRequest) -> str:
    """The page the form was on (same site only), else the portal's home."""
    referer = request.META.get("HTTP_REFERER", "")
    parts = urlsplit(referer)
    if referer and parts.netloc == request.get_host() and parts.path.startswith("/portal/"):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/portal/"


def too_many_requests_response(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    fields = _typed_fields(request)
    response = render(
        request,
        "portal/429.html",
        {
            "retry_after_minutes": max(1, -(-retry_after // 60)),
            "resubmit_url": request.get_full_path(),
            "resubmit_fields": fields,
            "shown_back": [value for _name, value in fields if _typed_text(value)],
            "had_files": bool(request.FILES),
            "back_url": _back_url(request),
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limited(form: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorator for a portal view: POSTs over `PORTAL_RATE_LIMITS[form]` answer 429."""
    limits_for(form)  # fail at import time on an unknown form

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method == "POST":
                retry_after = rate_limit_usage(request, form)
                if retry_after is not None:
                    return too_many_requests_response(request, retry_after=retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- The API's throttles on the same atomic counters ------------------------------------------


class _AtomicCounterThrottle:
    """Mixed into DRF's rate throttles: the same rates (`DEFAULT_THROTTLE_RATES`) and the same
    identity (user, or client IP behind `NUM_PROXIES`), counted by django-ratelimit's atomic
    `add`/`incr` on the shared cache instead of DRF's read-modify-write list of timestamps,
    which two workers can both pass at once."""

    def allow_request(self, request, view) -> bool:  # noqa: ANN001 - DRF's signature
        self._wait: float | None = None
        if self.rate is None:
            return True
        cache_key = self.get_cache_key(request, view)
        if cache_key is None:
            return True
        try:
            usage = get_usage(
                request,
                group=f"api:{self.scope}",
                key=lambda _group, _request: cache_key,
                rate=(self.num_requests, self.duration),
                increment=True,
            )
        except Exception:  # noqa: BLE001 - fail open, logged (see rate_limit_usage)
            logger.warning("API throttle not counted: cache unavailable", exc_info=True)
            return True
        if usage is None or not usage["should_limit"]:
            return True
        self._wait = max(float(usage["time_left"]), 1.0)
        return False

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class SharedAnonRateThrottle(_AtomicCounterThrottle, AnonRateThrottle):
    """The `anon` rate per client IP, for callers without a token."""


class SharedUserRateThrottle(_AtomicCounterThrottle, UserRateThrottle):
    """The `user` rate per signed-in user (per client IP for anonymous callers)."""
