"""A database outage answers 503, never a 500 (PRODUCT.md "Security", CONTRACT.md errors).

While PostgreSQL is unreachable (stopped, restarting, failed over, out of connections) every
query raises Django's `OperationalError` / `InterfaceError` (psycopg's own, when raised outside
Django's cursor wrapper). Nothing is half-written: the transaction that met it never committed.
So the answer is "try again shortly": on the API the contract's error body with code
`unavailable` and `Retry-After`; on pages a 503 page in the portal's or the admin's layout.

The page is rendered without the request's context processors: they would read the session and
the signed-in user, i.e. the database that just failed.
"""

from __future__ import annotations

import logging

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from .errors import error_body

logger = logging.getLogger("core.outage")

DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

# Seconds a client should wait before it tries again (a restart or a fail-over takes about this).
RETRY_AFTER_SECONDS = 30


def is_database_outage(exc: BaseException | None) -> bool:
    """True for an exception (or one it was raised from) that says the database is unreachable."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, DATABASE_ERRORS):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def unavailable_body() -> dict:
    return error_body(
        code="unavailable",
        message=_("The service is briefly unavailable. Please try again in a moment."),
    )


def unavailable_response(request: HttpRequest) -> HttpResponse:
    """The 503 answer for `request`: JSON on the API, the admin's or the portal's 503 page."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(unavailable_body(), status=503)
    else:
        template = "admin/503.html" if request.path.startswith("/admin/") else "503.html"
        try:
            html = render_to_string(template, {"retry_after": RETRY_AFTER_SECONDS})
        except Exception:  # noqa: BLE001 - a page that cannot render still answers 503
            logger.exception("the 503 page could not be rendered")
            html = "<!doctype html><title>503</title><h1>503</h1><p>{}</p>".format(
                _("The service is briefly unavailable. Please try again in a moment.")
            )
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
