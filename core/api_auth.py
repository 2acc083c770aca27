"""API sign-in and the permission classes shared by every app's API views.

- `TokenLoginView` (`POST /api/v1/auth/token/`): `{"username", "password"}` ->
  `{"token", "expires_at"}`: a new knox token (core/tokens.py: stored as a digest only, valid
  API_TOKEN_TTL). `TokenLogoutView` (`POST /api/v1/auth/logout/`, 204) revokes the token in use.
  It authenticates through `django.contrib.auth.authenticate(request=...)`, so django-axes
  counts failures toward the same lockout as the portal form (5 per username and IP, then
  15 minutes; the locked-out answer is 429 with code "locked_out"). Staff members get no token
  here: the customer API is not for them, and the back-office requires TOTP. Their right
  password answers exactly like a wrong one (400, counted toward the lockout), so a password
  is never confirmed without its second factor.
- `IsCustomer`: the caller is an active, non-staff user with a Customer row. Use it on every
  customer endpoint (`permission_classes = [IsCustomer]`); read `request.user.customer`.
  Objects are then fetched through access-scoped selectors (another's object -> 404).
- `HasRiskPermission`: the caller holds `accounts.raise_risk_signal` (the risk engine's
  service user, or a risk officer) - for `POST /api/v1/risk/signals/`.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .api import StrictInputSerializer, error_response
from .net import login_refused_as_wrong
from .tokens import token_issue, token_revoke


def user_is_customer(user: Any) -> bool:
    if not (user and user.is_authenticated and user.is_active) or user.is_staff:
        return False
    return hasattr(user, "customer")


class IsCustomer(permissions.BasePermission):
    """Signed in as a customer (not staff, not a service user)."""

    message = gettext_lazy("This endpoint is for customers.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return user_is_customer(request.user)


class HasRiskPermission(permissions.BasePermission):
    """Holds the risk-engine permission `accounts.raise_risk_signal`."""

    message = gettext_lazy("You are not allowed to raise risk signals.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and user.is_active
            and user.has_perm("accounts.raise_risk_signal")
        )


# The error body of CONTRACT.md, for `@extend_schema(responses={400: ERROR_RESPONSE_SCHEMA})`.
ERROR_RESPONSE_SCHEMA = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()), required=False
                ),
            },
        )
    },
)


def customer_responses(ok: Any, more: dict[int, Any] | None = None) -> dict[int, Any]:
    """`@extend_schema(responses=...)` of a customer endpoint: `ok` for 200, the error body for
    401 (not signed in), 403 (not a customer) and 429 (throttled), plus `more`, by status."""
    responses = {
        200: ok,
        401: ERROR_RESPONSE_SCHEMA,
        403: ERROR_RESPONSE_SCHEMA,
        429: ERROR_RESPONSE_SCHEMA,
        **(more or {}),
    }
    return dict(sorted(responses.items()))


class TokenLoginView(APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    class InputSerializer(StrictInputSerializer):
        username = serializers.CharField(max_length=150, trim_whitespace=False)
        password = serializers.CharField(max_length=128, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="auth_token",
        request=InputSerializer,
        responses={
            200: OutputSerializer,
            400: ERROR_RESPONSE_SCHEMA,
            413: ERROR_RESPONSE_SCHEMA,
            429: ERROR_RESPONSE_SCHEMA,
        },
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The Django request (not DRF's wrapper): axes marks it when the caller is locked out,
        # and its middleware then answers with the lockout response.
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is not None and user.is_staff:
            # A staff password alone confirms nothing: the answer (and the lockout count) is
            # that of a wrong password.
            login_refused_as_wrong(request._request, username=user.get_username())
            user = None
        if user is None:
            return error_response(
                code="invalid_credentials",
                message=_("The username or password is not correct."),
                http_status=status.HTTP_400_BAD_REQUEST,
            )
        row, token = token_issue(user=user)
        return Response(
            {
                "token": token,
                "expires_at": serializers.DateTimeField().to_representation(row.expiry),
            }
        )


class TokenLogoutView(APIView):
    """Revoke the token this request was made with (other tokens of the user stay valid)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        request=None,
        responses={204: None, 401: ERROR_RESPONSE_SCHEMA, 429: ERROR_RESPONSE_SCHEMA},
    )
    def post(self, request: Request) -> Response:
        if request.auth is not None and hasattr(request.auth, "digest"):
            token_revoke(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
