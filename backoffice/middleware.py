"""Request plumbing: refuse over-large bodies early (413), and `?lang=` picks the language."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _


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
                return JsonResponse(
                    {"error": {"code": "too_large", "message": message}}, status=413
                )
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
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
