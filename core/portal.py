"""Shared helpers of the customer portal (used by the accounts, notices, complaints and closures
portal views).

Usage::

    from core.portal import customer_required, CustomerRequiredMixin

    @customer_required
    def complaint_new(request):
        customer = request.customer  # the signed-in user's accounts.Customer
        ...

    class AppealNewView(CustomerRequiredMixin, FormView): ...

    @customer_required
    @portal_form("complaint")  # rate limits and the one-time submission token (see below)
    def complaint_new(request): ...

Rules:
- anonymous visitor: redirect to `/portal/login/?next=<path>`;
- staff member (is_staff), or a login without a Customer row: 403 with the portal's
  "not a customer" page. Staff never see customer pages, even with a valid session; they use
  /admin/.
- otherwise `request.customer` is set and the view runs. Objects must still be fetched through
  access-scoped selectors (another customer's object answers 404).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

PORTAL_LOGIN_URL = "/portal/login/"
logger = logging.getLogger(__name__)


def portal_customer(request: HttpRequest):
    """The signed-in customer of this request, or None (anonymous, staff, no Customer row)."""
    user = request.user
    if not user.is_authenticated or user.is_staff or not user.is_active:
        return None
    cached = getattr(request, "_portal_customer", None)
    if cached is not None:
        return cached
    # The reverse one-to-one of accounts.Customer (core imports nothing of ours).
    try:
        customer = user.customer
    except ObjectDoesNotExist:
        customer = None
    request._portal_customer = customer  # type: ignore[attr-defined]
    return customer


def not_a_customer_response(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/not_customer.html",
        {"message": _("This page is for customers. Staff members use the back-office.")},
        status=403,
    )


def customer_refusal(request: HttpRequest) -> HttpResponse | None:
    """The response refusing this request, or None when a customer is signed in."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), PORTAL_LOGIN_URL)
    customer = portal_customer(request)
    if customer is None:
        return not_a_customer_response(request)
    request.customer = customer  # type: ignore[attr-defined]
    return None


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorator for function views: only signed-in customers get through (see module doc)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = customer_refusal(request)
        if refusal is not None:
            return refusal
        return view(request, *args, **kwargs)

    return wrapper


class CustomerRequiredMixin:
    """Mixin for class-based views: same rules as `customer_required`. Put it first."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = customer_refusal(request)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


# --- One-time submission tokens (issue 14 item 2) ----------------------------------------------
#
# Every portal form carries `{% load portal %}{% submission_token %}`: a fresh random token per
# render. The first POST carrying a token claims it atomically in the shared cache (`add`: SET NX
# on Redis) and runs the view; its answer (a redirect to what it filed, or the page it rendered)
# is stored under the token. Any later POST of the same token by the same user files nothing:
# it waits for the first one to finish (up to SUBMISSION_TOKEN_WAIT_SECONDS) and gets the same
# answer. So a double click, a resent form or two identical POSTs 10 ms apart file once.
#
# The token is its own server-side record: it is written when first used rather than when the
# form is drawn (which would cost a cache write per page view and buy nothing, since a token is
# unguessable and scoped per user). A POST without a token (an old page, a script) is served as
# before; scripts are held by the rate limits.

SUBMISSION_TOKEN_FIELD = "submission_token"
SUBMISSION_TOKEN_TTL = 24 * 3600
_RUNNING = "running"
_REPLAYED_HEADERS = ("Content-Type", "Location", "Retry-After")


def submission_token_new() -> str:
    return secrets.token_urlsafe(24)


def _submission_key(request: HttpRequest, token: str) -> str | None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    if not (8 <= len(token) <= 64) or not all(c.isalnum() or c in "-_" for c in token):
        return None  # not one of ours: served as a POST without a token
    return f"portal-submission:{user.pk}:{token}"


def _stored_answer(response: HttpResponse) -> dict | None:
    if response.status_code >= 500 or response.streaming:
        return None
    return {
        "status": response.status_code,
        "content": response.content,
        "headers": {h: response[h] for h in _REPLAYED_HEADERS if h in response},
    }


def _replay(answer: dict) -> HttpResponse:
    response = HttpResponse(answer["content"], status=answer["status"])
    for header, value in answer["headers"].items():
        response[header] = value
    response["X-Submission-Replayed"] = "true"
    return response


def submission_in_progress_response(request: HttpRequest) -> HttpResponse:
    return render(
        request, "portal/429.html", {"in_progress": True, "back_url": "/portal/"}, status=409
    )


def one_time_submission(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorator for a portal view whose form carries `{% submission_token %}` (see above)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = request.POST.get(SUBMISSION_TOKEN_FIELD, "") if request.method == "POST" else ""
        key = _submission_key(request, token) if token else None
        if key is None:
            return view(request, *args, **kwargs)
        deadline = time.monotonic() + settings.SUBMISSION_TOKEN_WAIT_SECONDS
        while True:
            try:
                claimed = cache.add(key, _RUNNING, SUBMISSION_TOKEN_TTL)
            except Exception:  # noqa: BLE001 - the cache down: served as a POST without a token
                logger.warning("submission token not checked: cache unavailable", exc_info=True)
                return view(request, *args, **kwargs)
            if claimed:
                try:
                    response = view(request, *args, **kwargs)
                except BaseException:
                    cache.delete(key)  # nothing answered: the token may be used again
                    raise
                answer = _stored_answer(response)
                if answer is None:
                    cache.delete(key)
                else:
                    cache.set(key, answer, SUBMISSION_TOKEN_TTL)
                return response
            answer = cache.get(key)
            if isinstance(answer, dict):
                return _replay(answer)
            if answer is None:
                continue  # the first one failed and let the token go: claim it again
            if time.monotonic() >= deadline:
                return submission_in_progress_response(request)
            time.sleep(0.05)

    return wrapper


def portal_form(form: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Both guards of a portal form, in order: the rate limit of `form` (settings
    PORTAL_RATE_LIMITS; over it, a 429 page and nothing filed), then the one-time submission
    token. Put it after `customer_required`::

        @customer_required
        @portal_form("complaint")
        def complaint_new(request): ...
    """
    from .ratelimit import rate_limited

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        return rate_limited(form)(one_time_submission(view))

    return decorator


# --- Error pages that keep what was typed (issue 13 item 13) ----------------------------------


def typed_back_context(request: HttpRequest, *, read_body: bool = True) -> dict[str, Any]:
    """What an error page of the portal needs to keep what the customer typed: the posted
    fields (passwords and codes left out) for a "try again" form carrying them, the longer
    texts shown back to copy, whether files were attached, and the page to go back to.

    `read_body=False` where the body must not be read (a request refused for its size)."""
    from .ratelimit import SECRET_FIELDS, _back_url, _typed_text

    fields: list[tuple[str, str]] = []
    had_files = False
    if read_body and request.method == "POST":
        try:
            posted = request.POST
            had_files = bool(request.FILES)
        except Exception:  # noqa: BLE001 - a body that cannot be parsed is nothing to show back
            posted = None
        if posted is not None:
            fields = [
                (name, value)
                for name, values in posted.lists()
                if name not in SECRET_FIELDS
                for value in values
            ]
    return {
        "resubmit_url": request.get_full_path() if request.method == "POST" else "",
        "resubmit_fields": fields,
        "shown_back": [value for _name, value in fields if _typed_text(value)],
        "had_files": had_files,
        "back_url": _back_url(request),
    }
