"""`Idempotency-Key` on every API POST (CONTRACT.md, issue 14 item 2).

    POST /api/v1/complaints/  Idempotency-Key: 2f1c...-uuid

The same key from the same user within 24 hours answers the first result again (same status,
body and `Location`, with `Idempotent-Replayed: true`) and does nothing more. The same key with
another request (method, path or body) answers 409 `idempotency_key_reused`; a key that is not a
UUID answers 400. Keys are per user: callers are authenticated here with the API's own
authentication classes; a POST that does not authenticate (sign-in, a bad token) is served as
if it carried no key, and the view answers it.

How it holds under concurrency: the middleware opens a transaction, inserts the (user, key) row,
runs the view inside that transaction and stores the answer in the same row before committing.
So the stored answer and the POST's own writes commit together or not at all (a crash leaves
neither), and a concurrent duplicate's INSERT waits on the unique index until the first commits,
then reads its answer (at most IDEMPOTENCY_WAIT_SECONDS; then 409 `idempotency_key_in_use` with
`Retry-After`). Answers of 5xx, 429 and 503 are not kept (everything the request did is rolled
back), so a retry with the same key runs again.

Installed as `core.idempotency.IdempotencyMiddleware` (settings.MIDDLEWARE, near the end);
documented in the OpenAPI schema by `schema_add_idempotency_key` (SPECTACULAR_SETTINGS).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.settings import api_settings

from .errors import error_json
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
KEY_LIFETIME = timedelta(hours=24)
NOT_KEPT = frozenset({429, 503})
NOT_STORED_PREFIXES = ("/api/v1/auth/",)
REPLAYED_HEADERS = ("Content-Type", "Location", "Retry-After")
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout ran out


def _error(status: int, code: str, message: str, fields: dict | None = None) -> JsonResponse:
    return error_json(status=status, code=code, message=message, fields=fields)


def _authenticated_user(request: HttpRequest):
    """The API caller, through the API's own authentication classes; None if none succeeds."""
    drf_request = Request(request)
    for authentication_class in api_settings.DEFAULT_AUTHENTICATION_CLASSES:
        try:
            result = authentication_class().authenticate(drf_request)
        except exceptions.APIException:
            return None  # a bad token: the view answers 401
        if result is not None and result[0] is not None and result[0].is_authenticated:
            return result[0]
    return None


def request_fingerprint(request: HttpRequest) -> str:
    content_type = request.META.get("CONTENT_TYPE", "")
    body = request.body
    media_type, _sep, params = content_type.partition(";")
    if media_type.strip().lower() == "multipart/form-data":
        # Each client call picks a new boundary: the same parts are the same request.
        for param in params.split(";"):
            name, _eq, value = param.strip().partition("=")
            if name.lower() == "boundary" and value:
                body = body.replace(value.strip('"').encode("latin-1"), b"")
        content_type = media_type
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path(), content_type.strip()):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(body)
    return digest.hexdigest()


def _replay(record: IdempotentRequest) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.status_code)
    for header, value in record.response_headers.items():
        response[header] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(*, user, key: str, fingerprint: str) -> tuple[IdempotentRequest, bool]:
    """Inside the caller's transaction: (the row, True) when this request runs, (the committed
    row of an earlier request, False) otherwise. Waits while another request holds the key."""
    postgres = connection.vendor == "postgresql"
    try:
        with transaction.atomic():
            if postgres:
                wait_ms = int(settings.IDEMPOTENCY_WAIT_SECONDS * 1000)
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = {wait_ms}")
            record = IdempotentRequest.objects.create(user=user, key=key, fingerprint=fingerprint)
        return record, True
    except IntegrityError:
        pass
    finally:
        if postgres and connection.is_usable():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = DEFAULT")
    record = IdempotentRequest.objects.select_for_update().get(user=user, key=key)
    if record.created_at < timezone.now() - KEY_LIFETIME:
        # Past its 24 hours the key starts afresh: this request takes the row over.
        record.fingerprint = fingerprint
        record.created_at = timezone.now()
        record.status_code = None
        record.response_headers = {}
        record.response_body = b""
        record.save()
        return record, True
    return record, False


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw_key = request.headers.get(HEADER)
        if raw_key is None or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        if request.path.startswith(NOT_STORED_PREFIXES):
            # Sign-in and sign-out answers carry (or end) a secret: never kept, never replayed.
            return self.get_response(request)
        try:
            key = str(uuid.UUID(raw_key.strip()))
        except ValueError:
            return _error(
                400,
                "invalid",
                _("The input is not valid."),
                fields={HEADER: [_("Send a UUID, new for each new request.")]},
            )
        user = _authenticated_user(request)
        if user is None:
            return self.get_response(request)
        return self._once(request, user=user, key=key, fingerprint=request_fingerprint(request))

    def _once(self, request: HttpRequest, *, user, key: str, fingerprint: str) -> HttpResponse:
        with transaction.atomic():
            try:
                record, runs_here = _claim(user=user, key=key, fingerprint=fingerprint)
            except OperationalError as exc:
                if getattr(exc.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                    raise  # not our wait: an outage (answered 503 further out)
                return self._in_use()
            if runs_here:
                response = self.get_response(request)
                if response.status_code >= 500 or response.status_code in NOT_KEPT:
                    transaction.set_rollback(True)
                    return response
                record.status_code = response.status_code
                record.response_headers = {
                    h: response[h] for h in REPLAYED_HEADERS if response.has_header(h)
                }
                record.response_body = response.content
                record.save(update_fields=["status_code", "response_headers", "response_body"])
                return response
        if record.fingerprint != fingerprint:
            return _error(
                409,
                "idempotency_key_reused",
                _("This Idempotency-Key was already used for another request."),
            )
        return _replay(record)

    @staticmethod
    def _in_use() -> JsonResponse:
        response = _error(
            409,
            "idempotency_key_in_use",
            _("A request with this Idempotency-Key is still running. Try again shortly."),
        )
        response["Retry-After"] = "1"
        return response


# --- OpenAPI (drf-spectacular postprocessing hook) ---------------------------------------------


def schema_add_idempotency_key(result: dict, generator, request, public) -> dict:  # noqa: ANN001
    """Document the optional `Idempotency-Key` header on every POST, and its 409."""
    parameter = {
        "in": "header",
        "name": HEADER,
        "required": False,
        "schema": {"type": "string", "format": "uuid"},
        "description": (
            "The same key from the same user within 24 hours answers the first result again "
            "and does nothing more; the same key with another request answers 409."
        ),
    }
    has_error = "Error" in result.get("components", {}).get("schemas", {})
    for path_item in result.get("paths", {}).values():
        operation = path_item.get("post")
        if operation is None:
            continue
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
            parameters.append(parameter)
        responses = operation.setdefault("responses", {})
        if has_error and "409" not in responses:
            responses["409"] = {
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                "description": "",
            }
    return result
