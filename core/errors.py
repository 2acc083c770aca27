"""The one domain error. Services raise it; entry points map it to a form error, an admin
message or the API error body (CONTRACT.md)."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse


def error_body(*, code: str, message: str, fields: dict | None = None) -> dict[str, Any]:
    """The error body of CONTRACT.md: `{"error": {"code", "message", "fields"?}}`."""
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return {"error": body}


def error_json(*, status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    """That body as a plain Django answer, for middleware and handlers outside DRF."""
    return JsonResponse(error_body(code=code, message=message, fields=fields), status=status)


class ApplicationError(Exception):
    """A rule refused the operation.

    `code` is stable and machine-readable; `message` is translated, customer- or staff-facing;
    `status` is the HTTP status the API answers with (409 by default: not allowed in the
    current state); `fields` maps field names to messages for input errors (status 400).
    """

    def __init__(
        self,
        message: Any,
        *,
        code: str,
        status: int = 409,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or {}

    def __str__(self) -> str:
        return str(self.message)


class NotFound(ApplicationError):
    def __init__(self, message: Any = "Not found.", *, code: str = "not_found") -> None:
        super().__init__(message, code=code, status=404)


class Forbidden(ApplicationError):
    def __init__(self, message: Any, *, code: str = "forbidden") -> None:
        super().__init__(message, code=code, status=403)
