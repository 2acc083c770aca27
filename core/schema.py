"""The OpenAPI schema's error answers, documented once for every operation (issue 14 item 7).

CONTRACT.md: errors are `{"error": {"code", "message", "fields"?}}` with 400 (invalid input, or a
NUL byte in the query string), 401, 403, 404 (missing, not yours, or a NUL byte in the path),
409 (not allowed in the current state), 413 (too large), 415, 429 (throttled) and 503 (the
database or another service is unavailable, with `Retry-After`). Rather than each view listing
them, `AutoSchema` adds to every operation those its kind of operation can answer, with the
error body; a view's own `@extend_schema(responses=...)` entry for a status wins.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from .api import AutoSchema as NamingAutoSchema

# status -> (description, answered by: "all" operations, "auth" (a credential is required),
# "body" (the operation takes a request body))
ERROR_STATUSES: dict[str, tuple[str, str]] = {
    "400": ("Invalid input (the `fields` name what is wrong).", "all"),
    "401": ("No credentials, or credentials that are not valid (any more).", "auth"),
    "403": ("The caller may not do this.", "auth"),
    "404": ("Not found, or not the caller's.", "all"),
    "409": ("Not allowed in the current state.", "body"),
    "413": ("The request body is too large.", "body"),
    "415": ("The request body's media type is not accepted.", "body"),
    "429": ("Too many requests: try again after `Retry-After` seconds.", "all"),
    "503": ("The database or another service is unavailable: retry after `Retry-After`.", "all"),
}
RETRY_AFTER_STATUSES = ("429", "503")
BODY_METHODS = ("POST", "PUT", "PATCH")


class AutoSchema(NamingAutoSchema):
    """The project's schema class (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]): core.api's
    component naming plus the error answers of every operation."""

    def _error_statuses(self) -> list[str]:
        permissions = getattr(self.view, "permission_classes", [])
        needs_auth = not all(isinstance(p, type) and issubclass(p, AllowAny) for p in permissions)
        takes_body = self.method in BODY_METHODS
        wanted = []
        for code, (_description, scope) in ERROR_STATUSES.items():
            if (
                scope == "all"
                or (scope == "auth" and needs_auth)
                or (scope == "body" and takes_body)
            ):
                wanted.append(code)
        return wanted

    def _get_response_bodies(self, direction="response"):
        # Imported here: api_auth's views are decorated with extend_schema, which loads this
        # module (the schema class) while api_auth is still being imported.
        from .api_auth import ERROR_RESPONSE_SCHEMA

        responses = super()._get_response_bodies(direction)
        for code in self._error_statuses():
            if code not in responses:
                description = ERROR_STATUSES[code][0]
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ERROR_RESPONSE_SCHEMA, description=description),
                    code,
                    direction=direction,
                )
            if code in RETRY_AFTER_STATUSES:
                responses[code].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer"},
                    "description": "Seconds to wait before trying again.",
                }
        return dict(sorted(responses.items()))


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>` (core/tokens.py, hashed and expiring tokens), so that the
    schema names the credential of every operation that needs one."""

    target_class = "core.tokens.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <token>`, from POST /api/v1/auth/token/.",
        }
