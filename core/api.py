"""API plumbing shared by every app: the one exception handler (CONTRACT.md error body)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import ApplicationError, error_body
from .outage import RETRY_AFTER_SECONDS, is_database_outage, unavailable_body


def _flatten(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(key): [str(v) for v in (value if isinstance(value, list) else [value])]
            for key, value in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def error_response(
    *, code: str, message: str, http_status: int, fields: dict | None = None, headers=None
) -> Response:
    body = error_body(code=code, message=message, fields=fields)
    return Response(body, status=http_status, headers=headers)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if is_database_outage(exc):  # the database is unreachable: 503, try again (core/outage.py)
        return Response(
            unavailable_body(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    if isinstance(exc, ApplicationError):
        return error_response(
            code=exc.code, message=str(exc.message), http_status=exc.status, fields=exc.fields
        )
    if isinstance(exc, DjangoValidationError):
        fields = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return error_response(
            code="invalid", message=_("The input is not valid."), http_status=400, fields=fields
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    headers = {k: v for k, v in response.items() if k in ("Retry-After", "WWW-Authenticate")}
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            code="invalid",
            message=_("The input is not valid."),
            http_status=status.HTTP_400_BAD_REQUEST,
            fields=_flatten(exc.detail),
            headers=headers,
        )
    if isinstance(exc, exceptions.ParseError):
        code = "malformed"
    elif isinstance(exc, exceptions.Throttled):
        code = "throttled"
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = "not_authenticated"
    elif isinstance(exc, exceptions.PermissionDenied):
        code = "forbidden"
    elif isinstance(exc, exceptions.NotFound):
        code = "not_found"
    elif isinstance(exc, exceptions.MethodNotAllowed):
        code = "method_not_allowed"
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        code = "unsupported_media_type"
    else:
        code = getattr(exc, "default_code", "error")
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    message = str(detail) if not isinstance(detail, dict | list) else _("The request failed.")
    return error_response(
        code=code, message=message, http_status=response.status_code, headers=headers
    )


# --- Input serializers -------------------------------------------------------------------------


class RejectUnknownFieldsMixin:
    """Mix into an input serializer (before `serializers.Serializer`) to answer 400 for fields
    it does not declare, instead of silently ignoring them: a typo such as `acount` must not
    pass as "no account given". Read-only fields count as unknown input too.

        class InputSerializer(RejectUnknownFieldsMixin, serializers.Serializer): ...

    or simply subclass `StrictInputSerializer`. Nested serializers need the mixin themselves.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = sorted(str(key) for key in data if key not in writable)
            if unknown:
                raise exceptions.ValidationError(
                    {key: [_("Unknown field.")] for key in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Base class for API input serializers: unknown fields -> 400 (see the mixin)."""


# --- Lists -----------------------------------------------------------------------------------


class NewestFirstCursorPagination(CursorPagination):
    """Cursor paging of a customer's list, newest first, 25 a page (no COUNT(*))."""

    ordering = ("-created_at", "-id")
    page_size = 25


# --- OpenAPI ---------------------------------------------------------------------------------


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's AutoSchema, naming serializers nested in a view after the view:
    `AccountListApi.OutputSerializer` becomes the component `AccountListOutput`, so that the
    many views following the house style (nested `InputSerializer`/`OutputSerializer`) do not
    collide into one "Output" component."""

    def get_serializer_name(self, serializer: serializers.BaseSerializer, direction: str) -> str:
        cls = serializer.__class__
        outer, _dot, inner = cls.__qualname__.rpartition(".")
        if not outer or "<locals>" in outer:
            return cls.__name__
        view_name = outer.split(".")[-1]
        for suffix in ("Api", "APIView", "View"):
            view_name = view_name.removesuffix(suffix)
        return f"{view_name}{inner}"
