"""`GET /api/v1/messages/`: the notices sent to the calling customer, newest first (paginated)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import NewestFirstCursorPagination
from core.api_auth import IsCustomer, customer_responses

from .enums import Channel
from .selectors import notices_for_customer


class MessageListApi(APIView):
    permission_classes = [IsCustomer]
    pagination_class = NewestFirstCursorPagination

    class OutputSerializer(serializers.Serializer):
        at = serializers.DateTimeField(source="created_at")
        event = serializers.CharField()
        channel = serializers.ChoiceField(choices=Channel.choices)
        subject = serializers.CharField()
        body = serializers.CharField()

    @extend_schema(
        operation_id="messages_list", responses=customer_responses(OutputSerializer(many=True))
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(notices_for_customer(request.user), request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)
