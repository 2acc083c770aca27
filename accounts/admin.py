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
from django.contrib.admin.utils import (
    display_for_field,
    display_for_value,
    label_for_field,
    lookup_field,
    unquote,
)
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
from .customer_page import customer_page_sections
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
        """The customer's whole relationship (accounts/customer_page.py) under their own few
        facts, on a page of its own: nothing here is edited (DomainReadOnlyMixin), so Django's
        change form (a ModelForm, its fieldsets, a form to post) is not built at all, which
        was a third of the page's time (bench.complaints). A POST still goes to Django's
        view, which refuses it."""
        if request.method not in ("GET", "HEAD"):
            return super().change_view(request, object_id, form_url, extra_context)
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied  # before the look-up, as Django's: no id is told to exist
        customer = self.get_object(request, unquote(object_id))
        if customer is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_or_change_permission(request, customer):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("View %s") % self.opts.verbose_name,  # Django's own title, translated
            "subtitle": str(customer),
            "opts": self.opts,
            "original": customer,
            "facts": self._facts(customer),
            "can_unmask": request.user.has_perm(UNMASK_PERMISSION),
            "relationship": customer_page_sections(customer=customer, user=request.user),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/customer/relationship.html", context)

    def _facts(self, customer: Customer) -> list[tuple[str, Any]]:
        """(label, shown value) of each of `fields`, as Django's read-only fields show them."""
        empty = self.get_empty_value_display()
        facts = []
        for name in self.fields:
            field, attr, value = lookup_field(name, customer, self)
            if field is None:
                shown = display_for_value(value, empty, getattr(attr, "boolean", False))
            elif field.is_relation:
                shown = empty if value is None else value
            else:
                shown = display_for_field(value, field, empty)
            facts.append((label_for_field(name, Customer, self), shown))
        return facts

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user")

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

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The customer page's "all loan records" link: a customer's loans, over their accounts.
        if lookup == "account__customer__id__exact":
            return True
        return super().lookup_allowed(lookup, value, request)


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


# --- The partner-interface register (accounts/services/partners.py) -------------------------------
# Rows are read-only; the register, audits and the four-eyes suspension go through the services.
# The page shows the interface's figures (loans through it, disputes, upheld rate, incidents: the
# latter two from complaints through accounts/partners.py's providers) and its history.

from django.shortcuts import get_object_or_404  # noqa: E402 - used by the register's pages only
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.formats import number_format  # noqa: E402
from django.utils.html import format_html  # noqa: E402

from core.clock import local_date  # noqa: E402
from core.forms import form_add_application_error  # noqa: E402

from . import partners  # noqa: E402
from .enums import (  # noqa: E402
    LoanChannel,
    LoanKind,
    PartnerChangeAction,
    PartnerChangeStatus,
    PartnerInterfaceStatus,
)
from .models import PartnerInterface, PartnerInterfaceChange  # noqa: E402
from .partner_forms import (  # noqa: E402
    AuditForm,
    InterfaceRegisterForm,
    InterfaceTermsForm,
)
from .partner_forms import ReasonForm as PartnerReasonForm  # noqa: E402
from .services import partners as partner_services  # noqa: E402


class AuditOverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("audit")
    parameter_name = "audit"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue (none in 12 months)"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(partners.audit_overdue_q(local_date(timezone.now())))
        return queryset


@admin.register(PartnerInterface)
class PartnerInterfaceAdmin(DomainAdmin):
    list_display = ("code", "partner", "status", "max_amount_label", "last_audit_on",
                    "last_audit_result", "audit_state", "owner")  # fmt: skip
    list_select_related = ("owner",)
    list_filter = ("status", AuditOverdueFilter, "last_audit_result")
    search_fields = ("^code", "^partner")
    ordering = ("code",)
    raw_id_fields = ("owner",)
    fields = ("code", "partner", "kinds_label", "channels_label", "max_amount_label", "owner",
              "contract_reference", "last_audit_on", "last_audit_result", "last_audit_note",
              "created_at", "updated_at")  # fmt: skip
    readonly_fields = ("kinds_label", "channels_label", "max_amount_label")
    change_form_template = "admin/accounts/partnerinterface/change_form.html"
    change_list_template = "admin/accounts/partnerinterface/change_list.html"
    actions = ["propose_suspension_selected"]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = "accounts_partnerinterface"
        return [
            path("register/", wrap(self.register_view), name=f"{name}_register"),
            path("<int:interface_id>/terms/", wrap(self.terms_view), name=f"{name}_terms"),
            path("<int:interface_id>/audit/", wrap(self.audit_view), name=f"{name}_audit"),
            path("<int:interface_id>/retire/", wrap(self.retire_view), name=f"{name}_retire"),
            path(
                "<int:interface_id>/propose/<str:action>/",
                wrap(self.propose_view),
                name=f"{name}_propose",
            ),
            path(
                "changes/<int:change_id>/<str:decision>/",
                wrap(self.decide_view),
                name=f"{name}_decide",
            ),
            *super().get_urls(),
        ]

    # The permission hooks (the services check them again).
    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(partner_services.PERM_MANAGE)

    def has_audit_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(partner_services.PERM_AUDIT)

    def has_propose_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(partner_services.PERM_PROPOSE)

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(partner_services.PERM_APPROVE)

    @admin.display(description=gettext_lazy("permitted loan kinds"))
    def kinds_label(self, obj: PartnerInterface) -> str:
        return ", ".join(
            str(LoanKind(k).label) for k in obj.permitted_kinds if k in LoanKind.values
        )

    @admin.display(description=gettext_lazy("permitted channels"))
    def channels_label(self, obj: PartnerInterface) -> str:
        return ", ".join(
            str(LoanChannel(c).label) for c in obj.permitted_channels if c in LoanChannel.values
        )

    @admin.display(description=gettext_lazy("maximum amount"))
    def max_amount_label(self, obj: PartnerInterface) -> str:
        return "¥" + number_format(obj.max_amount, decimal_pos=2, force_grouping=True)

    @admin.display(description=gettext_lazy("audit"))
    def audit_state(self, obj: PartnerInterface) -> str:
        if not self.audit_overdue(obj):
            return "—"
        return format_html('<strong style="color:#ba2121">{}</strong>', _("Overdue"))

    def audit_overdue(self, obj: PartnerInterface) -> bool:
        if obj.status == PartnerInterfaceStatus.RETIRED:
            return False
        cutoff = partners.audit_cutoff(local_date(timezone.now()))
        return obj.last_audit_on is None or obj.last_audit_on < cutoff

    def changelist_view(self, request, extra_context=None):
        extra = {"can_manage": self.has_manage_permission(request)}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        interface = get_object_or_404(self.get_queryset(request), pk=object_id)
        changes = list(
            interface.changes.select_related("proposed_by", "decided_by").order_by(
                "-proposed_at", "-id"
            )[:50]
        )
        pending = next((c for c in changes if c.status == PartnerChangeStatus.PENDING), None)
        active = interface.status == PartnerInterfaceStatus.ACTIVE
        suspended = interface.status == PartnerInterfaceStatus.SUSPENDED
        may_propose = pending is None and self.has_propose_permission(request)
        extra = {
            "figures": partners.interface_figures(interface.code),
            "incidents": partners.interface_incidents(interface.code),
            "changes": changes,
            "pending": pending,
            "can_decide": pending is not None
            and pending.proposed_by_id != request.user.pk
            and self.has_approve_permission(request),
            "can_propose_suspend": may_propose and active,
            "can_propose_resume": may_propose and suspended,
            "can_audit": self.has_audit_permission(request)
            and interface.status != PartnerInterfaceStatus.RETIRED,
            "can_manage": self.has_manage_permission(request)
            and interface.status != PartnerInterfaceStatus.RETIRED,
            "audit_overdue": self.audit_overdue(interface),
            "history_rows": interface.history.select_related("history_user").order_by(
                "-history_date", "-history_id"
            )[:50],
            "loans_url": reverse("admin:accounts_loanrecord_changelist")
            + f"?partner_interface={interface.code}",
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.action(description=gettext_lazy("Propose suspending the selected interfaces"),
                  permissions=["propose"])  # fmt: skip
    def propose_suspension_selected(self, request: HttpRequest, queryset: QuerySet):
        """After an incident: one proposal per selected interface, each approved by another."""
        return reason_action_response(
            self,
            request,
            queryset,
            action="propose_suspension_selected",
            title=_("Propose suspending the interface"),
            call=lambda interface, reason: partner_services.partner_interface_change_propose(
                actor=request.user,
                reason=reason,
                interface_id=interface.pk,
                action=PartnerChangeAction.SUSPEND,
            ),
            describe=lambda interface: interface.code,
        )

    # --- The pages --------------------------------------------------------------------------

    def _page(self, request, *, title, form, obj=None, note="") -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "original": obj,
            "form": form,
            "note": note,
        }
        return TemplateResponse(request, "admin/accounts/partnerinterface/form.html", context)

    def _done(self, request, interface_id: int, message: str) -> HttpResponse:
        self.message_user(request, message, messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:accounts_partnerinterface_change", args=[interface_id])
        )

    def _interface(self, request, interface_id: int) -> PartnerInterface:
        return get_object_or_404(self.get_queryset(request), pk=interface_id)

    def register_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_manage_permission(request):
            raise PermissionDenied
        form = InterfaceRegisterForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                interface = partner_services.partner_interface_register(
                    actor=request.user,
                    reason=data["reason"],
                    code=data["code"],
                    partner=data["partner"],
                    permitted_kinds=data["permitted_kinds"],
                    permitted_channels=data["permitted_channels"],
                    max_amount=data["max_amount"],
                    owner=form.owner_user(),
                    contract_reference=data["contract_reference"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                return self._done(request, interface.pk, _("Partner interface registered."))
        return self._page(request, title=_("Register a partner interface"), form=form)

    def terms_view(self, request: HttpRequest, interface_id: int) -> HttpResponse:
        interface = self._interface(request, interface_id)
        if not self.has_manage_permission(request):
            raise PermissionDenied
        initial = {
            "partner": interface.partner,
            "permitted_kinds": interface.permitted_kinds,
            "permitted_channels": interface.permitted_channels,
            "max_amount": interface.max_amount,
            "owner": interface.owner_id,
            "contract_reference": interface.contract_reference,
        }
        form = InterfaceTermsForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                partner_services.partner_interface_update(
                    actor=request.user,
                    reason=data["reason"],
                    interface_id=interface.pk,
                    partner=data["partner"],
                    permitted_kinds=data["permitted_kinds"],
                    permitted_channels=data["permitted_channels"],
                    max_amount=data["max_amount"],
                    owner=form.owner_user(),
                    contract_reference=data["contract_reference"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                return self._done(request, interface.pk, _("Terms updated."))
        return self._page(request, title=_("Change the terms"), form=form, obj=interface)

    def audit_view(self, request: HttpRequest, interface_id: int) -> HttpResponse:
        interface = self._interface(request, interface_id)
        if not self.has_audit_permission(request):
            raise PermissionDenied
        form = AuditForm(request.POST or None, initial={"audited_on": local_date(timezone.now())})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                partner_services.partner_interface_audit_record(
                    actor=request.user,
                    reason=data["reason"],
                    interface_id=interface.pk,
                    audited_on=data["audited_on"],
                    result=data["result"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                return self._done(request, interface.pk, _("Audit recorded."))
        return self._page(request, title=_("Record an audit"), form=form, obj=interface)

    def retire_view(self, request: HttpRequest, interface_id: int) -> HttpResponse:
        interface = self._interface(request, interface_id)
        if not self.has_manage_permission(request):
            raise PermissionDenied
        form = PartnerReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                partner_services.partner_interface_retire(
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    interface_id=interface.pk,
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                return self._done(request, interface.pk, _("Interface retired."))
        note = _("Every loan through a retired interface is refused, for good.")
        return self._page(request, title=_("Retire the interface"), form=form, obj=interface,
                          note=note)  # fmt: skip

    def propose_view(self, request: HttpRequest, interface_id: int, action: str) -> HttpResponse:
        interface = self._interface(request, interface_id)
        if action not in PartnerChangeAction.values:
            raise Http404
        if not self.has_propose_permission(request):
            raise PermissionDenied
        form = PartnerReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                partner_services.partner_interface_change_propose(
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    interface_id=interface.pk,
                    action=action,
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                return self._done(
                    request, interface.pk, _("Proposed: another person must approve it.")
                )
        if action == PartnerChangeAction.SUSPEND:
            title = _("Propose suspending the interface")
        else:
            title = _("Propose resuming the interface")
        note = _("Another risk officer or manager approves it, with a one-time code.")
        return self._page(request, title=title, form=form, obj=interface, note=note)

    def decide_view(self, request: HttpRequest, change_id: int, decision: str) -> HttpResponse:
        if decision not in ("approve", "reject"):
            raise Http404
        change = get_object_or_404(
            PartnerInterfaceChange.objects.filter(interface__in=self.get_queryset(request)),
            pk=change_id,
        )
        if not self.has_approve_permission(request):
            raise PermissionDenied
        here = request.get_full_path()
        if decision == "approve" and not stepup_is_fresh(user=request.user):
            return HttpResponseRedirect(stepup_url(here))
        service = (
            partner_services.partner_interface_change_approve
            if decision == "approve"
            else partner_services.partner_interface_change_reject
        )
        form = PartnerReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                service(actor=request.user, reason=form.cleaned_data["reason"], change_id=change.pk)
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    return HttpResponseRedirect(stepup_url(here))
                form_add_application_error(form, exc)
            else:
                done = _("Approved.") if decision == "approve" else _("Rejected.")
                return self._done(request, change.interface_id, done)
        template = _("Approve: %(action)s") if decision == "approve" else _("Reject: %(action)s")
        title = template % {"action": change.get_action_display()}
        note = _("Proposed by %(user)s: %(reason)s") % {
            "user": change.proposed_by.get_username(),
            "reason": change.reason,
        }
        return self._page(request, title=title, form=form, obj=change.interface, note=note)


@admin.register(PartnerInterfaceChange)
class PartnerInterfaceChangeAdmin(DomainAdmin):
    """The proposals to suspend or resume, newest first; decided on the interface's page."""

    list_display = ("id", "interface", "action", "status", "proposed_by", "proposed_at",
                    "decided_by", "decided_at")  # fmt: skip
    list_select_related = ("interface", "proposed_by", "decided_by")
    list_filter = ("status", "action")
    search_fields = ("^interface__code",)
    ordering = ("-proposed_at", "-id")
    raw_id_fields = ("interface", "proposed_by", "decided_by")
    actions = ["reject_selected"]

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(partner_services.PERM_APPROVE)

    @admin.action(description=gettext_lazy("Reject the selected proposals"),
                  permissions=["approve"])  # fmt: skip
    def reject_selected(self, request: HttpRequest, queryset: QuerySet):
        """Rejecting needs no code (nothing changes); approving is done one by one on the
        interface's page, with a fresh code."""
        return reason_action_response(
            self,
            request,
            queryset,
            action="reject_selected",
            title=_("Reject the selected proposals"),
            call=lambda change, reason: partner_services.partner_interface_change_reject(
                actor=request.user, reason=reason, change_id=change.pk
            ),
            describe=lambda change: f"#{change.pk} {change.interface.code}",
        )
