"""The lending core's API (CONTRACT.md "Lending core"): the ledger feed and the pre-check.

A service user holding `accounts.feed_ledger` (`manage.py create_service_user NAME --permission
core`). Thin views over accounts/services/ingest.py:

- A body of one item answers that item: 201 with its ids (`{id}`, or `{customer, account}`),
  the same again for the same reference and body, 200 `{..., ignored: "stale_update"}` for an
  older customer update, 409 `reference_conflict` for a known reference with another body, 400
  with the field-level error for a refused item.
- A body `{"items": [...]}` of 1 to 1,000 items answers 200 when every item was booked (or
  answered again), 207 when some were refused, with `{accepted, refused, results: [{index,
  reference, status, ...}]}` in the items' order: each result carries its item's single answer
  (`id` / `customer` + `account`, `flags`, `excess`, or `error`). More than 1,000 items: 413.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import StrictInputSerializer, error_response
from core.api_auth import ERROR_RESPONSE_SCHEMA

from .enums import LoanChannel, LoanKind
from .models import CreditAccount
from .services import ingest
from .services.partners import partner_interface_precheck

CORE_PERMISSION = "accounts.feed_ledger"


class HasCorePermission(permissions.BasePermission):
    """Holds the lending core's permission `accounts.feed_ledger`."""

    message = gettext_lazy("You are not allowed to feed the ledger.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user and user.is_authenticated and user.is_active and user.has_perm(CORE_PERMISSION)
        )


_RESULT = inline_serializer(
    name="LedgerItemResult",
    fields={
        "index": serializers.IntegerField(),
        "reference": serializers.CharField(),
        "status": serializers.IntegerField(help_text="201 booked, 200 ignored, 400, 409"),
        "id": serializers.IntegerField(required=False),
        "customer": serializers.IntegerField(required=False),
        "account": serializers.IntegerField(required=False),
        "flags": serializers.ListField(child=serializers.CharField(), required=False),
        "excess": serializers.CharField(required=False),
        "ignored": serializers.CharField(required=False),
        "error": serializers.DictField(required=False),
    },
)
_BATCH = inline_serializer(
    name="LedgerBatchResult",
    fields={
        "accepted": serializers.IntegerField(),
        "refused": serializers.IntegerField(),
        "results": serializers.ListField(child=_RESULT),
    },
)


def _responses(single: Any) -> dict[int, Any]:
    return {
        200: OpenApiResponse(_BATCH, description="A batch: every item booked or answered again."),
        201: OpenApiResponse(single, description="One item, booked (or the same body again)."),
        207: OpenApiResponse(_BATCH, description="A batch with some items refused."),
        400: ERROR_RESPONSE_SCHEMA,
        401: ERROR_RESPONSE_SCHEMA,
        403: ERROR_RESPONSE_SCHEMA,
        409: OpenApiResponse(ERROR_RESPONSE_SCHEMA, description="Known reference, other body."),
        413: OpenApiResponse(ERROR_RESPONSE_SCHEMA, description="More than 1,000 items."),
    }


class _FeedApi(APIView):
    permission_classes = [HasCorePermission]
    ingest: Any = None

    def post(self, request: Request) -> Response:
        data = request.data
        if isinstance(data, dict) and set(data) == {"items"}:
            items = data["items"]
            if not isinstance(items, list) or not items:
                return error_response(
                    code="invalid",
                    message=_("The input is not valid."),
                    http_status=400,
                    fields={"items": [_("A list of 1 to 1,000 items.")]},
                )
            if len(items) > ingest.BATCH_LIMIT:
                return error_response(
                    code="too_large",
                    message=_("At most 1,000 items per request."),
                    http_status=413,
                    fields={"items": [_("A list of 1 to 1,000 items.")]},
                )
            results = type(self).ingest(actor=request.user, items=items)
            refused = sum(1 for r in results if not r.ok)
            body = {
                "accepted": len(results) - refused,
                "refused": refused,
                "results": [r.as_dict(i) for i, r in enumerate(results)],
            }
            return Response(body, status=207 if refused else 200)
        if not isinstance(data, dict):
            return error_response(
                code="invalid",
                message=_("The input is not valid."),
                http_status=400,
                fields={"non_field_errors": [_("Must be an object.")]},
            )
        (result,) = type(self).ingest(actor=request.user, items=[data])
        return Response(result.body, status=result.status)


_ID = inline_serializer(name="LedgerBooked", fields={
    "id": serializers.IntegerField(),
    "flags": serializers.ListField(child=serializers.CharField(), required=False),
    "excess": serializers.CharField(required=False),
})  # fmt: skip
_CUSTOMER = inline_serializer(name="LedgerCustomerBooked", fields={
    "customer": serializers.IntegerField(),
    "account": serializers.IntegerField(),
    "ignored": serializers.CharField(required=False),
})  # fmt: skip
_ONE_OR_MANY = 'One item, or `{"items": [...]}` of up to 1,000 items.'


class CoreCustomersApi(_FeedApi):
    """Create or update a customer and their account (personal data encrypted on arrival); an
    update carries a newer `updated_at`, an older one is ignored (200, `ignored`)."""

    ingest = staticmethod(ingest.customers_ingest)

    @extend_schema(
        operation_id="core_customers",
        request={"application/json": {"type": "object", "description": _ONE_OR_MANY}},
        responses=_responses(_CUSTOMER),
        examples=[
            OpenApiExample(
                "one",
                value={
                    "reference": "C-1001",
                    "name": "李爱丽",
                    "national_id": "110101199003070921",
                    "phone": "13800138000",
                    "preferred_language": "zh-hans",
                    "updated_at": "2026-11-01T09:00:00+08:00",
                    "account": {
                        "number": "6288000000001001",
                        "credit_limit": "20000.00",
                        "interest_free_days": 30,
                    },
                },
                request_only=True,
            )
        ],  # fmt: skip
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class CoreLoansApi(_FeedApi):
    """A loan the core has booked, with its fees, schedule and authorization event. Always
    recorded: one breaking the partner-interface register, or booked on an account that is not
    lending, is flagged (`flags`) and alerted to managers."""

    ingest = staticmethod(ingest.loans_ingest)

    @extend_schema(
        operation_id="core_loans",
        request={"application/json": {"type": "object", "description": _ONE_OR_MANY}},
        responses=_responses(_ID),
        examples=[
            OpenApiExample(
                "one",
                value={
                    "reference": "L-20261101-0001",
                    "account": "6288000000001001",
                    "amount": "4200.00",
                    "fees": "0.00",
                    "kind": "installment",
                    "merchant": "携程旅行",
                    "channel": "partner_api",
                    "partner_interface": "PI-CTRIP-INSTALL-V2",
                    "created_at": "2026-11-01T20:15:00+08:00",
                    "schedule": [
                        {"due_on": "2026-12-01", "amount": "1400.00"},
                        {"due_on": "2027-01-01", "amount": "1400.00"},
                        {"due_on": "2027-02-01", "amount": "1400.00"},
                    ],
                    "authorization": {
                        "method": "partner_token",
                        "channel": "partner_api",
                        "partner_interface": "PI-CTRIP-INSTALL-V2",
                        "device_id": "iPhone14,5-a1b2",
                        "ip": "116.228.35.17",
                        "consent_reference": "CS202611012015A1",
                        "at": "2026-11-01T20:14:40+08:00",
                        "outcome": "success",
                    },
                },
                request_only=True,
            )
        ],  # fmt: skip
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class CoreRepaymentsApi(_FeedApi):
    """A repayment the core has taken; beyond what is owed, the excess is held in the account's
    credit balance, flagged (`flags: ["overpayment"]`, `excess`) and alerted."""

    ingest = staticmethod(ingest.repayments_ingest)

    @extend_schema(
        operation_id="core_repayments",
        request={"application/json": {"type": "object", "description": _ONE_OR_MANY}},
        responses=_responses(_ID),
        examples=[
            OpenApiExample(
                "one",
                value={
                    "reference": "R-20261201-0001",
                    "account": "6288000000001001",
                    "amount": "1400.00",
                    "paid_at": "2026-12-01T10:00:00+08:00",
                    "loan": "L-20261101-0001",
                },
                request_only=True,
            )
        ],  # fmt: skip
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class CoreAuthorizationCheckApi(APIView):
    """The pre-check the core calls before granting a loan: the partner-interface register's
    answer (`{allowed: true}` or `{allowed: false, code}`)."""

    permission_classes = [HasCorePermission]

    class Input(StrictInputSerializer):
        account = serializers.CharField(max_length=20)
        partner_interface = serializers.CharField(max_length=64, allow_blank=True, default="")
        kind = serializers.ChoiceField(choices=LoanKind.choices)
        channel = serializers.ChoiceField(choices=LoanChannel.choices)
        amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)

    @extend_schema(
        operation_id="core_authorization_check",
        request=Input,
        responses={
            200: inline_serializer(
                name="AuthorizationCheck",
                fields={
                    "allowed": serializers.BooleanField(),
                    "code": serializers.ChoiceField(
                        choices=["interface_suspended", "interface_not_permitted"], required=False
                    ),
                },
            ),  # fmt: skip
            400: ERROR_RESPONSE_SCHEMA,
            401: ERROR_RESPONSE_SCHEMA,
            403: ERROR_RESPONSE_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        account = CreditAccount.objects.filter(number=values["account"]).first()
        if account is None:
            return error_response(
                code="unknown_account",
                message=_("No account has this number."),
                http_status=status.HTTP_400_BAD_REQUEST,
                fields={"account": [_("Unknown account.")]},
            )
        code = partner_interface_precheck(
            actor=request.user,
            account=account,
            interface_code=values["partner_interface"],
            kind=values["kind"],
            channel=values["channel"],
            amount=values["amount"],
        )
        return Response({"allowed": False, "code": code} if code else {"allowed": True})
