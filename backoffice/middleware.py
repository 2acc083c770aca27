"""Request plumbing: security headers (Permissions-Policy, no-store), over-large bodies refused
early (413), NUL bytes refused in the path (404) and the query string (400), `?lang=` picks
the language, and a database outage answers 503 (never a 500).

And the error pages (handler400/403/404/500, the CSRF failure view, the 413 above): under
/portal/ each is a page in the portal's own layout that keeps what the customer typed (a "try
again" form carrying the posted fields, the longer texts shown back to copy; passwords and codes
left out); the admin and the API keep theirs."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import csrf, defaults

from core.errors import error_json
from core.outage import is_database_outage, unavailable_response
from core.portal import portal_customer, typed_back_context

logger = logging.getLogger(__name__)
PORTAL_PREFIX = "/portal/"


def _is_portal(request: HttpRequest) -> bool:
    return request.path.startswith(PORTAL_PREFIX)


def portal_error_response(
    request: HttpRequest,
    *,
    status: int,
    read_body: bool = True,
    with_request: bool = True,
    extra: dict | None = None,
) -> HttpResponse:
    """The portal's page for `status` (templates portal/errors/<status>.html), keeping what was
    typed. `with_request=False` renders without the context processors and the signed-in user
    (before the session and the language are known: the 413 refused up front)."""
    context = typed_back_context(request, read_body=read_body)
    context["status"] = status
    context.update(extra or {})
    if with_request:
        if not hasattr(request, "customer") and hasattr(request, "user"):
            request.customer = portal_customer(request)  # the layout's menu and name
        body = render_to_string(f"portal/errors/{status}.html", context, request=request)
    else:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        known = {code for code, _name in settings.LANGUAGES}
        with translation.override(language if language in known else settings.LANGUAGE_CODE):
            context["LANGUAGE_CODE"] = translation.get_language()
            body = render_to_string(f"portal/errors/{status}.html", context)
    return HttpResponse(body, status=status)


class BodySizeLimitMiddleware:
    """Answer 413 for a declared body over MAX_REQUEST_BODY_BYTES before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.limit(request):
            if request.path.startswith("/api/"):
                message = _("The request is too large.")
                return error_json(status=413, code="too_large", message=message)
            if _is_portal(request):
                return portal_error_response(
                    request, status=413, read_body=False, with_request=False
                )
            return HttpResponse(render_to_string("413.html"), status=413)
        return self.get_response(request)

    @staticmethod
    def limit(request: HttpRequest) -> int:
        """A portal form with a file may send up to PORTAL_UPLOAD_MAX_BODY_BYTES: an attachment
        over its own limit then reaches the form, which refuses it with a field error and keeps
        the rest of what was typed (the limit of the file is the form's, not this one's)."""
        if (
            _is_portal(request)
            and request.method == "POST"
            and request.META.get("CONTENT_TYPE", "").startswith("multipart/form-data")
        ):
            return max(settings.MAX_REQUEST_BODY_BYTES, settings.PORTAL_UPLOAD_MAX_BODY_BYTES)
        return settings.MAX_REQUEST_BODY_BYTES


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
    CONTRACT.md, pages with the site's 404/400 page; one in the User-Agent is dropped. (Form
    and JSON fields are refused by Django's and DRF's own null-character validators; the
    session cookie by core.sessions.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith("/api/")
        # The lockout's records of failed sign-ins keep the browser's name: no NUL in it.
        agent = request.META.get("HTTP_USER_AGENT", "")
        if "\x00" in agent:
            request.META["HTTP_USER_AGENT"] = agent.replace("\x00", "")
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
    if _is_portal(request):
        try:
            return portal_error_response(request, status=500)
        except Exception:  # noqa: BLE001 - the error page itself must not fail
            logger.exception("the portal's 500 page failed; Django's plain one answers")
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: under /portal/ the portal's page keeping what was typed."""
    if _is_portal(request):
        return portal_error_response(request, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: under /portal/ the portal's page; the admin keeps 403.html."""
    if _is_portal(request):
        return portal_error_response(request, status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /portal/ the portal's page (a POST to a page that is gone keeps what
    was typed)."""
    if _is_portal(request):
        return portal_error_response(request, status=404)
    return defaults.page_not_found(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a portal form sent after its page expired (a new sign-in, a long
    pause) is a 403 that keeps what was typed, with a "send again" form carrying a fresh token."""
    if _is_portal(request):
        response = portal_error_response(request, status=403, extra={"csrf_failure": True})
        response["X-CSRF-Failure"] = "true"
        return response
    return csrf.csrf_failure(request, reason=reason)
