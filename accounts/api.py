"""Customer API of the accounts app: own accounts, and one account's loan records (paginated).

Thin views: IsCustomer, access-scoped selectors (another's account -> 404), output serializers.
"""

from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import NewestFirstCursorPagination
from core.api_auth import ERROR_RESPONSE_SCHEMA, IsCustomer, customer_responses

from . import selectors
from .enums import AccountStatus, CreditKind, LoanChannel, LoanKind, LoanStatus
from .models import AccountCredit
from .views import with_latest_closure


class AccountCreditOutput(serializers.Serializer):
    """One ledger credit entry: a refund, a compensation (`applied` paid down what was owed,
    `held` went to the credit balance) or a payout of the credit balance."""

    reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=CreditKind.choices)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    applied = serializers.DecimalField(source="applied_amount", max_digits=14, decimal_places=2)
    held = serializers.DecimalField(source="held_amount", max_digits=14, decimal_places=2)
    booked_at = serializers.DateTimeField(source="created_at")


class AccountCursorPagination(NewestFirstCursorPagination):
    """The caller's accounts, oldest first (CONTRACT.md: every list is `{next, previous,
    results}`)."""

    ordering = ("opened_at", "id")


class AccountListApi(APIView):
    permission_classes = [IsCustomer]
    # drf-spectacular wraps `many=True` responses in the paginator's envelope.
    pagination_class = AccountCursorPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        number_masked = serializers.CharField()
        status = serializers.ChoiceField(choices=AccountStatus.choices)
        credit_limit = serializers.DecimalField(max_digits=14, decimal_places=2)
        outstanding_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
        available_credit = serializers.DecimalField(max_digits=14, decimal_places=2)
        interest_free_days = serializers.IntegerField()
        opened_at = serializers.DateTimeField()
        closed_at = serializers.DateTimeField(allow_null=True)
        closure = serializers.IntegerField(
            source="closure_id",
            allow_null=True,
            help_text="The id of the account's latest closure request, or null.",
        )
        credit_balance = serializers.DecimalField(
            max_digits=14,
            decimal_places=2,
            help_text="Money held for the customer (refunds, compensation) until paid out.",
        )
        credits = AccountCreditOutput(source="credit_entries", many=True)

    @extend_schema(
        operation_id="accounts_list", responses=customer_responses(OutputSerializer(many=True))
    )
    def get(self, request: Request) -> Response:
        accounts = with_latest_closure(selectors.accounts_for_user(user=request.user))
        accounts = accounts.prefetch_related(
            Prefetch(
                "credits",
                queryset=AccountCredit.objects.order_by("-created_at", "-pk"),
                to_attr="credit_entries",
            )
        )
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(accounts, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class AccountLoansApi(APIView):
    permission_classes = [IsCustomer]
    # drf-spectacular wraps `many=True` responses in the paginator's envelope.
    pagination_class = NewestFirstCursorPagination

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        reference = serializers.CharField()
        amount = serializers.DecimalField(max_digits=14, decimal_places=2)
        kind = serializers.ChoiceField(choices=LoanKind.choices)
        merchant = serializers.CharField()
        channel = serializers.ChoiceField(choices=LoanChannel.choices)
        status = serializers.ChoiceField(choices=LoanStatus.choices)
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="account_loans_list",
        responses=customer_responses(
            OutputSerializer(many=True),
            {404: OpenApiResponse(ERROR_RESPONSE_SCHEMA, description="Missing, or not yours.")},
        ),
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = selectors.account_for_user(user=request.user, account_id=account_id)
        paginator = self.pagination_class()
        rows = paginator.paginate_queryset(
            selectors.loans_for_account(account=account), request, view=self
        )
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)
