"""Request plumbing: security headers (Permissions-Policy, no-store), over-large bodies refused
early (413), NUL bytes refused in the path (404) and the query string (400), `?lang=` picks
the language, and a database outage answers 503 (never a 500)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import defaults

from core.errors import error_json
from core.outage import is_database_outage, unavailable_response


class BodySizeLimitMiddleware:
    """Answer 413 for a declared body over MAX_REQUEST_BODY_BYTES before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.MAX_REQUEST_BODY_BYTES:
            message = _("The request is too large.")
            if request.path.startswith("/api/"):
                return error_json(status=413, code="too_large", message=message)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# Stylesheets and scripts our views generate (the reports' chart CSS, the Swagger UI's start-up
# script) carry no personal data and keep the caching their view chose.
CACHEABLE_CONTENT_TYPES = ("text/css", "application/javascript", "text/javascript")


class SecurityHeadersMiddleware:
    """Permissions-Policy on every answer, and `Cache-Control: no-store` on every answer under
    NO_STORE_PATH_PREFIXES (the admin, the portal and the API carry personal and account data;
    a shared or back-button cache must keep none of it), stylesheets and scripts excepted.
    Static files are answered by whitenoise before this and keep their long cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        content_type = response.headers.get("Content-Type", "")
        if request.path.startswith(settings.NO_STORE_PATH_PREFIXES) and not content_type.startswith(
            CACHEABLE_CONTENT_TYPES
        ):
            cache_control = response.headers.get("Cache-Control", "")
            if "no-store" not in cache_control:
                response.headers["Cache-Control"] = "no-store"
        return response


class NulByteMiddleware:
    """No URL or filter of ours can hold a NUL byte, and PostgreSQL refuses one in any text
    (psycopg's DataError, a 500). So a NUL in the path answers 404 and one in a query parameter
    400, before any view, filter or admin changelist sees it: the API with the error body of
    CONTRACT.md, pages with the site's 404/400 page. (Form and JSON fields are refused by
    Django's and DRF's own null-character validators.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        if "\x00" in request.path:
            if api:
                return error_json(status=404, code="not_found", message=_("Not found."))
            raise Http404
        bad = sorted(
            {
                key
                for key, values in request.GET.lists()
                if "\x00" in key or any("\x00" in value for value in values)
            }
        )
        if bad:
            message = _("Null characters are not allowed.")
            if api:
                return error_json(
                    status=400,
                    code="invalid",
                    message=_("The input is not valid."),
                    fields={key.replace("\x00", ""): [message] for key in bad},
                )
            raise BadRequest(message)
        return self.get_response(request)


class LanguageFromQueryMiddleware:
    """`?lang=en` (or zh-hans) switches the language and remembers it in a cookie.

    Pages are zh-hans first: without a remembered choice the browser's Accept-Language is not
    consulted (an English-language browser in China still gets Chinese until the customer picks
    English). API clients may still ask for a language with Accept-Language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.known = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lang = request.GET.get("lang")
        if lang in self.known:
            request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = lang
            translation.activate(lang)
            # Consumed here: an admin changelist would take `lang` for a filter (and refuse it).
            query = request.GET.copy()
            query.pop("lang", None)
            request.GET = query
        elif settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and not request.path.startswith(
            "/api/"
        ):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        response = self.get_response(request)
        if lang in self.known:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                lang,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                samesite="Lax",
                secure=not settings.DEBUG,
            )
        return response


class DatabaseOutageMiddleware:
    """A view (or a view middleware) that meets an unreachable database answers 503: the API
    the error body with `Retry-After`, pages the 503 page (core/outage.py). DRF views answer
    the same through core.api.exception_handler; what fails outside any view (a middleware
    reading the session, say) reaches `server_error` below."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return unavailable_response(request)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500 (DEBUG off): Django calls it inside its `except` block, so the exception is
    at hand. A database outage answers 503; anything else Django's own 500."""
    if is_database_outage(sys.exc_info()[1]):
        return unavailable_response(request)
    if request.path.startswith("/api/"):
        return error_json(status=500, code="error", message=_("Something went wrong on our side."))
    return defaults.server_error(request)
