"""Staff admin of the accounts domain (and the back-office security logs).

Everything is read-only here: balances and statuses change only through services, offered as
actions with a reason (freeze / unfreeze). Personal data is masked; holders of
`accounts.view_unmasked_pii` can reveal it after a fresh one-time code, and each reveal is
logged (`core.PiiAccessLog`). Search uses exact blind-index matches for phone and ID
numbers and prefix matches for names, account numbers and references (no `%contains%`).
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.admin_helpers import (
    AuditorReadOnlyMixin,
    DomainAdmin,
    DomainReadOnlyMixin,
    LargeTableMixin,
    NoDeleteMixin,
    reason_action_response,
)
from core.errors import ApplicationError
from core.models import PiiAccessLog, StepUpVerification
from core.net import client_ip
from core.stepup import stepup_is_fresh, stepup_url

from . import services
from .models import (
    AccountCredit,
    AuthorizationEvent,
    CreditAccount,
    CreditReportCorrection,
    Customer,
    LoanRecord,
    Repayment,
    RiskSignal,
    User,
)
from .services import credits
from .staff import customer_pii_reveal, staff_deactivate

UNMASK_PERMISSION = "accounts.view_unmasked_pii"

_PHONE_RE = re.compile(r"^(?:\+?86)?(1\d{10})$")
_NATIONAL_ID_RE = re.compile(r"^(\d{15}|\d{17}[\dX])$")
_ACCOUNT_NUMBER_RE = re.compile(r"^\d{16}$")


def pii_lookup(term: str, prefix: str = "") -> Q | None:
    """An exact blind-index match when `term` looks like a phone or a national ID number."""
    value = crypto.normalize(term)
    if match := _PHONE_RE.match(value):
        return Q(**{f"{prefix}phone_index": crypto.blind_index(match.group(1))})
    if _NATIONAL_ID_RE.match(value):
        return Q(**{f"{prefix}national_id_index": crypto.blind_index(value)})
    return None


def account_number_lookup(term: str, prefix: str = "") -> Q:
    value = crypto.normalize(term)
    if _ACCOUNT_NUMBER_RE.match(value):
        return Q(**{f"{prefix}number": value})
    return Q(**{f"{prefix}number__startswith": value})


def account_number_or(term: str, lookup: str) -> Q:
    """Admin search of rows that belong to an account: a full account number finds that
    account's rows; anything else, normalized the same way, is matched with `lookup`
    (e.g. "reference__startswith")."""
    value = crypto.normalize(term)
    if _ACCOUNT_NUMBER_RE.match(value):
        return Q(account__number=value)
    return Q(**{lookup: value})


class SearchMixin:
    """`search_fields` only switches the search box on; `search_q` builds the real filter."""

    search_fields = ("pk",)

    def search_q(self, term: str) -> Q:
        raise NotImplementedError

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = (search_term or "").strip()
        if not term:
            return queryset, False
        return queryset.filter(self.search_q(term)), False


def _mask(value: str, masker) -> str:
    try:
        return masker(value or "")
    except RuntimeError:
        return "****"


# --- Users ----------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(SearchMixin, DomainAdmin):
    list_display = (
        "username",
        "first_name",
        "email",
        "is_staff",
        "is_active",
        "roles",
        "last_login",
    )
    list_filter = ("is_staff", "is_active")
    fields = (
        "username",
        "first_name",
        "last_name",
        "email",
        "is_staff",
        "is_active",
        "is_superuser",
        "roles",
        "last_login",
        "date_joined",
    )
    readonly_fields = fields
    search_help_text = gettext_lazy("Username or its beginning.")
    ordering = ("username",)
    actions = ("deactivate_staff",)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_user")

    @admin.action(
        description=gettext_lazy("Deactivate (staff member leaves)"), permissions=["deactivate"]
    )
    def deactivate_staff(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Sessions, API tokens and OTP devices revoked at once; open cases back in the
        unassigned queue (accounts.staff.staff_deactivate)."""
        return reason_action_response(
            self,
            request,
            queryset,
            action="deactivate_staff",
            title=_("Deactivate (staff member leaves)"),
            call=lambda user, reason: staff_deactivate(
                actor=request.user, reason=reason, user_id=user.pk
            ),
            describe=lambda user: user.get_username(),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        return self.fields  # never the password hash or the security stamp

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("groups")

    def search_q(self, term: str) -> Q:
        return Q(username__startswith=term)  # served by the unique index on username

    @admin.display(description=gettext_lazy("roles"))
    def roles(self, obj: User) -> str:
        return ", ".join(sorted(g.name for g in obj.groups.all())) if obj.pk else ""


# --- Customers --------------------------------------------------------------------------------


@admin.register(Customer)
class CustomerAdmin(SearchMixin, DomainAdmin):
    list_display = ("name", "phone_masked", "national_id_masked", "user", "preferred_language")
    list_select_related = ("user",)
    list_filter = ("preferred_language",)
    raw_id_fields = ("user",)
    fields = (
        "name",
        "user",
        "phone_masked",
        "national_id_masked",
        "preferred_language",
        "created_at",
    )
    search_help_text = gettext_lazy(
        "Exact mobile phone or national ID number, or the beginning of the name."
    )
    ordering = ("-pk",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        return self.fields  # the encrypted columns and their indexes never appear

    def search_q(self, term: str) -> Q:
        return pii_lookup(term) or Q(name__startswith=term)

    @admin.display(description=gettext_lazy("mobile phone"))
    def phone_masked(self, obj: Customer) -> str:
        return _mask(obj.phone, crypto.mask_phone)

    @admin.display(description=gettext_lazy("national ID number"))
    def national_id_masked(self, obj: Customer) -> str:
        return _mask(obj.national_id, crypto.mask_national_id)

    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/unmask/",
                self.admin_site.admin_view(self.unmask_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_unmask",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra = {"can_unmask": request.user.has_perm(UNMASK_PERMISSION), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def unmask_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """GET: ask for step-up if needed, then a confirm button; POST: reveal and log."""
        if not request.user.has_perm(UNMASK_PERMISSION):
            raise PermissionDenied
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        here = request.get_full_path()
        if not stepup_is_fresh(user=request.user):
            return HttpResponseRedirect(stepup_url(here))
        revealed = None
        if request.method == "POST":
            try:
                revealed = customer_pii_reveal(
                    actor=request.user, customer_id=customer.pk, ip_address=client_ip(request)
                )
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    return HttpResponseRedirect(stepup_url(here))
                self.message_user(request, exc.message, level=messages.ERROR)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Personal data of %(name)s") % {"name": customer.name},
            "opts": self.opts,
            "original": customer,
            "revealed": revealed,
            "phone_masked": self.phone_masked(customer),
            "national_id_masked": self.national_id_masked(customer),
        }
        response = TemplateResponse(request, "admin/accounts/customer/unmask.html", context)
        response["Cache-Control"] = "no-store"
        return response


# --- Credit accounts --------------------------------------------------------------------------


@admin.register(CreditAccount)
class CreditAccountAdmin(SearchMixin, DomainAdmin):
    list_display = (
        "number",
        "customer",
        "status",
        "credit_limit",
        "outstanding_balance",
        "available_credit",
        "credit_balance",
        "delinquency__overdue_count",  # computed from the schedules (accounts/delinquency.py)
        "opened_at",
    )
    list_select_related = ("customer", "delinquency")
    list_filter = ("status",)
    raw_id_fields = ("customer",)
    search_help_text = gettext_lazy(
        "Account number (or its beginning), or the customer's exact mobile phone or ID number."
    )
    ordering = ("-pk",)
    actions = ("freeze_accounts", "unfreeze_accounts", "pay_out_credit_balance")

    def search_q(self, term: str) -> Q:
        return pii_lookup(term, "customer__") or account_number_lookup(term)

    def has_pay_out_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(credits.PAYOUT_PERMISSION)

    @admin.action(description=gettext_lazy("Pay out the credit balance"), permissions=["pay_out"])
    def pay_out_credit_balance(
        self, request: HttpRequest, queryset: QuerySet
    ) -> HttpResponse | None:
        return reason_action_response(
            self,
            request,
            queryset,
            action="pay_out_credit_balance",
            title=_("Pay out the credit balance"),
            call=lambda account, reason: credits.credit_pay_out(
                actor=request.user, reason=reason, account_id=account.pk
            ),
            describe=lambda account: f"{account.number} (¥{account.credit_balance})",
        )

    def has_freeze_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.change_creditaccount")

    @admin.action(description=gettext_lazy("Freeze (security hold)"), permissions=["freeze"])
    def freeze_accounts(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return reason_action_response(
            self,
            request,
            queryset,
            action="freeze_accounts",
            title=_("Freeze (security hold)"),
            call=lambda account, reason: services.account_freeze(
                actor=request.user, reason=reason, account_id=account.pk
            ),
            describe=lambda account: account.number,
        )

    @admin.action(description=gettext_lazy("Lift the security hold"), permissions=["freeze"])
    def unfreeze_accounts(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return reason_action_response(
            self,
            request,
            queryset,
            action="unfreeze_accounts",
            title=_("Lift the security hold"),
            call=lambda account, reason: services.account_unfreeze(
                actor=request.user, reason=reason, account_id=account.pk
            ),
            describe=lambda account: account.number,
        )


# --- Loans and what hangs off them ------------------------------------------------------------


@admin.register(LoanRecord)
class LoanRecordAdmin(SearchMixin, DomainAdmin):
    list_display = (
        "reference",
        "account",
        "amount",
        "outstanding_amount",
        "kind",
        "channel",
        "merchant",
        "status",
        "created_at",
    )
    list_select_related = ("account",)
    list_filter = ("status", "kind", "channel", "collection_paused")
    raw_id_fields = ("account",)
    search_help_text = gettext_lazy("Loan reference (or its beginning), or an account number.")
    ordering = ("-pk",)

    def search_q(self, term: str) -> Q:
        return account_number_or(term, "reference__startswith")


@admin.register(AuthorizationEvent)
class AuthorizationEventAdmin(SearchMixin, DomainAdmin):
    list_display = (
        "occurred_at",
        "account",
        "loan",
        "method",
        "channel",
        "partner_interface",
        "device_id",
        "ip_address",
        "outcome",
    )
    list_select_related = ("account", "loan")
    list_filter = ("method", "channel", "outcome")
    raw_id_fields = ("account", "loan")
    search_help_text = gettext_lazy("Loan reference or account number.")
    ordering = ("-pk",)

    def search_q(self, term: str) -> Q:
        return account_number_or(term, "loan__reference")


@admin.register(Repayment)
class RepaymentAdmin(SearchMixin, DomainAdmin):
    list_display = ("reference", "account", "loan", "amount", "channel", "paid_at")
    list_select_related = ("account", "loan")
    list_filter = ("channel",)
    raw_id_fields = ("account", "loan")
    search_help_text = gettext_lazy("Repayment reference (or its beginning), or account number.")
    ordering = ("-pk",)

    def search_q(self, term: str) -> Q:
        return account_number_or(term, "reference__startswith")


@admin.register(AccountCredit)
class AccountCreditAdmin(SearchMixin, DomainAdmin):
    """Refunds, compensation and payouts: booked by services only (a payout through the
    accounts' "Pay out the credit balance" action)."""

    list_display = (
        "reference",
        "created_at",
        "account",
        "kind",
        "amount",
        "applied_amount",
        "held_amount",
        "origin",
        "created_by",
    )
    list_select_related = ("account", "created_by")
    list_filter = ("kind",)
    raw_id_fields = ("account", "loan", "created_by")
    search_help_text = gettext_lazy("Credit reference (or its beginning), or account number.")
    ordering = ("-pk",)

    def search_q(self, term: str) -> Q:
        return account_number_or(term, "reference__startswith")


@admin.register(RiskSignal)
class RiskSignalAdmin(SearchMixin, DomainAdmin):
    list_display = ("created_at", "account", "kind", "severity", "source", "status", "raised_by")
    list_select_related = ("account", "raised_by")
    list_filter = ("status", "kind", "severity", "source")
    raw_id_fields = ("account", "raised_by")
    search_help_text = gettext_lazy("Account number.")
    ordering = ("-pk",)

    def search_q(self, term: str) -> Q:
        return account_number_lookup(term, "account__")


@admin.register(CreditReportCorrection)
class CreditReportCorrectionAdmin(SearchMixin, DomainAdmin):
    list_display = ("opened_at", "account", "loan", "kind", "status", "origin", "due_at")
    list_select_related = ("account", "loan")
    list_filter = ("status", "kind")
    raw_id_fields = ("account", "loan")
    search_help_text = gettext_lazy("Origin (e.g. complaint:CP...) or account number.")
    ordering = ("-pk",)

    def search_q(self, term: str) -> Q:
        value = term.strip()
        if _ACCOUNT_NUMBER_RE.match(value):
            return Q(account__number=value)
        return Q(origin__startswith=value)


# --- Back-office security logs (read-only, no history of their own) --------------------------


class SecurityLogAdmin(
    NoDeleteMixin, AuditorReadOnlyMixin, DomainReadOnlyMixin, LargeTableMixin, admin.ModelAdmin
):
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("=user__username",)
    ordering = ("-pk",)


@admin.register(StepUpVerification)
class StepUpVerificationAdmin(SecurityLogAdmin):
    list_display = ("verified_at", "user", "purpose")


@admin.register(PiiAccessLog)
class PiiAccessLogAdmin(SecurityLogAdmin):
    list_display = ("at", "user", "subject", "fields", "ip_address")
    search_fields = ("=user__username", "=subject")
