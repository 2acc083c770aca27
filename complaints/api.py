"""Complaint endpoints of the customer API (CONTRACT.md): list and file, one complaint, ask for
a review, the conversation (messages, attachments). One APIView per resource, nested input
serializers; each write calls one service."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import accounts_for_user
from core.api import NewestFirstCursorPagination, StrictInputSerializer
from core.api_auth import ERROR_RESPONSE_SCHEMA, IsCustomer
from core.audit import REASON_MAX_LENGTH

from . import selectors, selectors_conversation, services
from .enums import Category, Channel
from .models import Complaint, ConversationAttachment, ConversationMessage
from .services import conversation
from .views import attachment_download

API_REASON = gettext_noop("Filed through the API")


class ComplaintOutput(serializers.Serializer):
    reference = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    outcome = serializers.SerializerMethodField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_text = serializers.SerializerMethodField()
    review_until = serializers.SerializerMethodField(
        help_text="End of the right to a review: day 30 after the decision notice's delivery."
    )
    items = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    def get_outcome(self, obj: Complaint) -> str | None:
        return obj.outcome if obj.decided_at else None

    def get_decision_text(self, obj: Complaint) -> str:
        return obj.decision_text if obj.decided_at else ""

    def get_review_until(self, obj: Complaint) -> str | None:
        until = selectors.complaint_review_until(obj)
        return serializers.DateTimeField().to_representation(until) if until else None

    def get_items(self, obj: Complaint) -> list[dict]:
        return [
            {"loan_record": i.loan_id, "outcome": (i.outcome or None) if obj.decided_at else None}
            for i in obj.items.all()
        ]

    def get_timeline(self, obj: Complaint) -> list[dict]:
        return [
            {
                "at": serializers.DateTimeField().to_representation(e.at),
                "event": e.type,
                "text": e.public_text,
            }
            for e in obj.visible_events
        ]


class ComplaintCreatedOutput(serializers.Serializer):
    reference = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    received_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()


class ComplaintCursorPagination(NewestFirstCursorPagination):
    """The caller's complaints, newest first (CONTRACT.md: every list is `{next, previous,
    results}`), 25 a page, no COUNT(*)."""

    ordering = ("-received_at", "-id")


class ComplaintListApi(APIView):
    permission_classes = [IsCustomer]
    page_size = 25

    class InputSerializer(StrictInputSerializer):
        category = serializers.ChoiceField(choices=Category.choices)
        account = serializers.IntegerField(required=False, allow_null=True)
        loan_records = serializers.ListField(
            child=serializers.IntegerField(), required=False, default=list, max_length=100
        )
        description = serializers.CharField(max_length=4000)
        account_compromised = serializers.BooleanField(required=False, default=False)

    # drf-spectacular wraps `many=True` responses in the paginator's envelope.
    pagination_class = ComplaintCursorPagination

    @extend_schema(responses=ComplaintOutput(many=True))
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(
            selectors.complaints_for_user_detailed(user=request.user), request, view=self
        )
        return paginator.get_paginated_response(ComplaintOutput(rows, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ComplaintCreatedOutput})
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        account_id = v.get("account")
        if (
            account_id is not None
            and not accounts_for_user(user=request.user).filter(pk=account_id).exists()
        ):
            return Response(
                {
                    "error": {
                        "code": "invalid",
                        "message": _("The input is not valid."),
                        "fields": {"account": [_("Not one of your accounts.")]},
                    }
                },
                status=400,
            )
        complaint = services.complaint_submit(
            actor=request.user,
            reason=API_REASON,
            customer=request.user.customer,
            category=v["category"],
            description=v["description"],
            channel=Channel.API,
            account_id=account_id,
            loan_record_ids=v["loan_records"],
            account_compromised=v["account_compromised"],
        )
        return Response(ComplaintCreatedOutput(complaint).data, status=status.HTTP_201_CREATED)


class ComplaintDetailApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(responses=ComplaintOutput)
    def get(self, request: Request, reference: str) -> Response:
        complaint = selectors.complaint_for_user(user=request.user, reference=reference)
        return Response(ComplaintOutput(complaint).data)


class ComplaintReviewApi(APIView):
    permission_classes = [IsCustomer]

    class InputSerializer(StrictInputSerializer):
        grounds = serializers.CharField(max_length=REASON_MAX_LENGTH)

    class OutputSerializer(serializers.Serializer):
        reference = serializers.CharField(source="complaint.reference")
        status = serializers.CharField()
        received_at = serializers.DateTimeField()
        due_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, reference: str) -> Response:
        complaint = selectors.complaint_for_user(user=request.user, reference=reference)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = services.review_request(
            complaint_id=complaint.pk, actor=request.user, grounds=data.validated_data["grounds"]
        )
        return Response(self.OutputSerializer(review).data, status=status.HTTP_201_CREATED)


# --- The conversation (issue 13 item 9) ------------------------------------------------------------


def _attachment_url(request: Request, complaint: Complaint, attachment: ConversationAttachment):
    return request.build_absolute_uri(
        f"/api/v1/complaints/{complaint.reference}/attachments/{attachment.pk}/"
    )


class AttachmentOutput(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="Download (the caller's token needed).")

    def get_url(self, obj: ConversationAttachment) -> str:
        return _attachment_url(self.context["request"], self.context["complaint"], obj)


class MessageOutput(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    author = serializers.ChoiceField(
        source="author_kind", choices=ConversationMessage.Author.choices
    )
    body = serializers.CharField()
    attachments = AttachmentOutput(many=True)


class MessageCursorPagination(NewestFirstCursorPagination):
    """The conversation, newest first, 25 a page (`{next, previous, results}`)."""


class ComplaintMessagesApi(APIView):
    permission_classes = [IsCustomer]
    pagination_class = MessageCursorPagination

    class InputSerializer(StrictInputSerializer):
        body = serializers.CharField(max_length=conversation.BODY_MAX_LENGTH)

    @extend_schema(responses=MessageOutput(many=True))
    def get(self, request: Request, reference: str) -> Response:
        complaint = selectors.complaint_for_user(user=request.user, reference=reference)
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(
            selectors_conversation.conversation_messages(complaint=complaint), request, view=self
        )
        context = {"request": request, "complaint": complaint}
        return paginator.get_paginated_response(
            MessageOutput(rows, many=True, context=context).data
        )

    @extend_schema(
        request=InputSerializer,
        responses={201: MessageOutput, 404: ERROR_RESPONSE_SCHEMA, 409: ERROR_RESPONSE_SCHEMA},
    )
    def post(self, request: Request, reference: str) -> Response:
        complaint = selectors.complaint_for_user(user=request.user, reference=reference)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = conversation.conversation_customer_write(
            complaint_id=complaint.pk, actor=request.user, body=data.validated_data["body"]
        )
        context = {"request": request, "complaint": complaint}
        return Response(
            MessageOutput(message, context=context).data, status=status.HTTP_201_CREATED
        )


class ComplaintAttachmentsApi(APIView):
    permission_classes = [IsCustomer]
    parser_classes = [MultiPartParser]

    class InputSerializer(StrictInputSerializer):
        file = serializers.FileField(help_text="PDF, JPEG or PNG, at most 5 MB.")

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={
            201: AttachmentOutput,
            404: ERROR_RESPONSE_SCHEMA,
            409: ERROR_RESPONSE_SCHEMA,
            413: ERROR_RESPONSE_SCHEMA,
        },
    )
    def post(self, request: Request, reference: str) -> Response:
        complaint = selectors.complaint_for_user(user=request.user, reference=reference)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = conversation.conversation_attachment_add(
            complaint_id=complaint.pk, actor=request.user, upload=data.validated_data["file"]
        )
        context = {"request": request, "complaint": complaint}
        return Response(
            AttachmentOutput(attachment, context=context).data, status=status.HTTP_201_CREATED
        )


class ComplaintAttachmentDownloadApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as a download."
            ),
            404: ERROR_RESPONSE_SCHEMA,
        }
    )
    def get(self, request: Request, reference: str, attachment_id: int):
        attachment = selectors_conversation.conversation_attachment_for_user(
            user=request.user, reference=reference, attachment_id=attachment_id
        )
        return attachment_download(attachment)
