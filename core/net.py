"""Client IP behind a configurable number of trusted proxies, the lockout answer, sign-ins
refused like a wrong password, and the request being served (`current_request()`, set by
core.activity.ActivityContextMiddleware) for code that needs its session without a parameter
(step-up, core/stepup.py)."""

from __future__ import annotations

import contextvars
import ipaddress
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from .errors import error_json


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or the address TRUSTED_PROXY_COUNT hops from the right of X-Forwarded-For.

    Only the hops our own proxies appended are trusted; anything further left is
    client-supplied and could be forged.
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    remote = request.META.get("REMOTE_ADDR", "")
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) >= proxies:
        candidate = forwarded[-proxies]
    else:
        candidate = forwarded[0] if forwarded else remote
    # Written to inet columns (the unmask log, the lockout's records): a value that is no
    # address (a request that bypassed or shortened the proxy chain) counts as the peer's.
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return remote
    return candidate


def lockout_response(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    message = _("Too many failed sign-in attempts. Try again in 15 minutes.")
    if request.path.startswith("/api/"):
        return error_json(status=429, code="locked_out", message=message)
    return render(request, "core/locked_out.html", {"message": message}, status=429)


def login_refused_as_wrong(request: HttpRequest, *, username: str) -> None:
    """Treat a sign-in whose password was right but which must be refused (a staff member on
    the customer API or portal) as a failed one: django-axes counts it like a wrong password,
    so neither the answer nor the lockout tells the two apart."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar(
    "current_request", default=None
)


@contextmanager
def request_context(request: HttpRequest):
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_request() -> HttpRequest | None:
    """The HTTP request being served, or None (a task, a command, a test calling a service)."""
    return _request.get()


def current_session_key() -> str | None:
    """The current request's session key ("" for a request without a session, e.g. an API
    token), or None outside any request."""
    request = current_request()
    if request is None:
        return None
    session = getattr(request, "session", None)
    return (session.session_key or "") if session is not None else ""
