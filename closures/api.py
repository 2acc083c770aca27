"""REST API of closures and appeals (CONTRACT.md). Thin views: parse, call one service, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.enums import RiskSignalKind, Severity
from core.api import StrictInputSerializer
from core.api_auth import ERROR_RESPONSE_SCHEMA, HasRiskPermission, IsCustomer
from core.audit import REASON_MAX_LENGTH

from . import selectors, services
from .enums import OtpChannel
from .models import Appeal, ClosureRequest


class ClosureOutput(serializers.ModelSerializer):
    account = serializers.IntegerField(source="account_id")
    # A customer's request awaiting its code carries the time it would take effect if
    # confirmed now (the end of today, Asia/Shanghai), so a client can show it first.
    effective_at = serializers.SerializerMethodField()

    class Meta:
        model = ClosureRequest
        fields = ["id", "account", "reason", "status", "explanation", "effective_at",
                  "appeal_deadline"]  # fmt: skip

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_effective_at(self, closure: ClosureRequest) -> str | None:
        at = services.closure_effective_if_confirmed(closure)
        return None if at is None else serializers.DateTimeField().to_representation(at)


class ClosureCreateApi(APIView):
    permission_classes = [IsCustomer]

    class Input(StrictInputSerializer):
        account = serializers.IntegerField()
        channel = serializers.ChoiceField(choices=OtpChannel.choices, default=OtpChannel.SMS)

    @extend_schema(
        request=Input,
        responses={
            202: ClosureOutput,
            **dict.fromkeys((400, 404, 409, 429), ERROR_RESPONSE_SCHEMA),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        closure = services.closure_request_by_customer(
            actor=request.user,
            account_id=data.validated_data["account"],
            channel=data.validated_data["channel"],
        )
        return Response(ClosureOutput(closure).data, status=202)


class ClosureCodeResendApi(APIView):
    """A new code for a request awaiting one: 429 over the cooldown, the request's or the day's
    cap (the error body says which), 409 when the request no longer needs a code."""

    permission_classes = [IsCustomer]

    class Input(StrictInputSerializer):
        channel = serializers.ChoiceField(choices=OtpChannel.choices, required=False)

    @extend_schema(
        request=Input,
        responses={
            202: ClosureOutput,
            **dict.fromkeys((400, 404, 409, 429), ERROR_RESPONSE_SCHEMA),
        },
    )
    def post(self, request: Request, closure_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
        closure = services.closure_code_resend(
            actor=request.user,
            closure_id=closure.pk,
            channel=data.validated_data.get("channel") or closure.code_channel or OtpChannel.SMS,
        )
        return Response(ClosureOutput(closure).data, status=202)


class ClosureConfirmApi(APIView):
    permission_classes = [IsCustomer]

    class Input(StrictInputSerializer):
        otp = serializers.CharField(max_length=12)

    @extend_schema(
        request=Input,
        responses={200: ClosureOutput, **dict.fromkeys((400, 404, 409), ERROR_RESPONSE_SCHEMA)},
    )
    def post(self, request: Request, closure_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        closure = services.closure_confirm(
            actor=request.user, closure_id=closure_id, otp=data.validated_data["otp"]
        )
        return Response(ClosureOutput(closure).data)


class ClosureWithdrawApi(APIView):
    permission_classes = [IsCustomer]

    class Input(StrictInputSerializer):
        reason = serializers.CharField(max_length=REASON_MAX_LENGTH, required=False, default="")

    @extend_schema(request=Input, responses={200: ClosureOutput, 409: ERROR_RESPONSE_SCHEMA})
    def post(self, request: Request, closure_id: int) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        selectors.closure_for_user(user=request.user, closure_id=closure_id)
        closure = services.closure_withdraw(
            actor=request.user,
            closure_id=closure_id,
            reason=data.validated_data["reason"] or "withdrawn by the customer",
        )
        return Response({"id": closure.pk, "status": closure.status})


class ClosureDetailApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(responses={200: ClosureOutput})
    def get(self, request: Request, closure_id: int) -> Response:
        closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
        return Response(ClosureOutput(closure).data)


class AppealOutput(serializers.ModelSerializer):
    closure = serializers.IntegerField(source="closure_id")

    class Meta:
        model = Appeal
        fields = ["reference", "closure", "status", "due_at", "decision_text", "decided_at"]


class AppealCreateApi(APIView):
    permission_classes = [IsCustomer]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    class Input(StrictInputSerializer):
        closure = serializers.IntegerField()
        grounds = serializers.CharField(max_length=REASON_MAX_LENGTH)
        attachment = serializers.FileField(required=False, allow_null=True)

    @extend_schema(
        request=Input,
        responses={201: AppealOutput, 409: ERROR_RESPONSE_SCHEMA, 413: ERROR_RESPONSE_SCHEMA},
    )
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        appeal = services.appeal_file(
            actor=request.user,
            closure_id=data.validated_data["closure"],
            grounds=data.validated_data["grounds"],
            attachment=data.validated_data.get("attachment"),
        )
        return Response(
            {"reference": appeal.reference, "status": appeal.status, "due_at": appeal.due_at},
            status=status.HTTP_201_CREATED,
        )


class AppealDetailApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(responses={200: AppealOutput})
    def get(self, request: Request, reference: str) -> Response:
        appeal = selectors.appeal_for_user(user=request.user, reference=reference)
        return Response(AppealOutput(appeal).data)


class RiskSignalCreateApi(APIView):
    """The risk engine posts a signal. Serious signals also propose a closure for review:
    suspected_fraud / security_breach at high or critical severity, and overdue at or over the
    threshold. The answer names the proposed closure (or null)."""

    permission_classes = [HasRiskPermission]

    class Input(StrictInputSerializer):
        account = serializers.IntegerField()
        kind = serializers.ChoiceField(choices=RiskSignalKind.choices)
        severity = serializers.ChoiceField(choices=Severity.choices)
        details = serializers.JSONField(required=False, default=dict)

    @extend_schema(request=Input, responses={201: None, 400: ERROR_RESPONSE_SCHEMA})
    def post(self, request: Request) -> Response:
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        details = data.validated_data["details"]
        if not isinstance(details, dict):
            raise serializers.ValidationError({"details": ["Must be an object."]})
        signal, closure = services.risk_signal_ingest(
            actor=request.user,
            account_id=data.validated_data["account"],
            kind=data.validated_data["kind"],
            severity=data.validated_data["severity"],
            details=details,
        )
        return Response(
            {"id": signal.pk, "closure": closure.pk if closure else None},
            status=status.HTTP_201_CREATED,
        )
