"""The agents' admin: queues with SLA badges, the case page (customer's accounts, disputed
records with their trail and indicators, timeline), the intake of a phone call or letter, and
every case action as a form page that calls one service (the action table is
complaints/case_actions.py). Nothing is edited as a raw field.

Custom pages go through `admin_site.admin_view`, fetch through `get_queryset(request)` and ask
`has_view_permission` / `has_act_permission` / `has_intake_permission`: a missing permission is
a 403, an unknown case or action a 404."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import CreditAccount, CreditReportCorrection, LoanRecord
from core.admin_helpers import DomainAdmin, user_is_auditor
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.stepup import stepup_url

from . import forms as staff_forms
from . import selectors, services
from .case_actions import ACTIONS, CaseAction
from .enums import Channel
from .evidence import evidence_for_loans
from .models import Compensation, Complaint, IncidentAlert, VerificationRequest

STAFF_INTAKE_REASON = gettext_noop("Entered by staff")

BADGE_COLOURS = {
    "overdue": "#ba2121",
    "due_soon": "#d97706",
    "on_track": "#2e7d32",
    "paused": "#6b7280",
    "none": "#9ca3af",
}
BADGE_LABELS = {
    "overdue": gettext_lazy("Overdue"),
    "due_soon": gettext_lazy("Due soon"),
    "on_track": gettext_lazy("On track"),
    "paused": gettext_lazy("Paused"),
    "none": "—",
}


def sla_badge_html(complaint: Complaint, now=None) -> str:
    badge = complaint.sla_badge(now)
    return format_html(
        '<span class="sla sla-{}" style="background:{};color:#fff;padding:1px 6px;'
        'border-radius:8px">{}</span>',
        badge,
        BADGE_COLOURS[badge],
        BADGE_LABELS[badge],
    )


def time_left_text(complaint: Complaint, now=None) -> str:
    if not complaint.is_open:
        return "—"
    left = complaint.time_left(now)
    days, rest = divmod(abs(left.total_seconds()), 86400)
    text = _("%(d)d d %(h)d h") % {"d": days, "h": rest // 3600}
    return text if left.total_seconds() >= 0 else _("%(t)s late") % {"t": text}


class QueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("unassigned", _("Unassigned")),
            ("mine", _("Mine")),
            ("due_soon", _("Due soon")),
            ("overdue", _("Overdue")),
            ("open", _("All open")),
        ]

    def queryset(self, request, queryset):
        if self.value():
            return selectors.complaint_queue(queue=self.value(), user=request.user)
        return queryset


class _ComplaintChangeList(ChangeList):
    """The queues show the customer's name only: leave the encrypted columns unread (each
    would cost a Fernet decryption per row)."""

    def get_queryset(self, request, exclude_parameters=None):
        return (
            super()
            .get_queryset(request, exclude_parameters)
            .defer("customer__national_id", "customer__phone")
        )


@admin.register(Complaint)
class ComplaintAdmin(DomainAdmin):
    list_display = (
        "reference",
        "category",
        "status",
        "customer_name",
        "assignee",
        "due_at",
        "sla",
        "time_left_display",
    )
    list_select_related = ("customer", "assignee")
    list_filter = (QueueFilter, "status", "category", "channel")
    search_fields = ("^reference",)
    ordering = ("due_at", "id")
    # 25 rows a page (bench.complaints: rendering 50 admin rows alone cost ~100 ms of Python).
    list_per_page = 25
    change_form_template = "admin/complaints/complaint/case.html"

    def get_changelist(self, request, **kwargs):
        return _ComplaintChangeList

    @admin.display(description=gettext_lazy("customer"))
    def customer_name(self, obj: Complaint) -> str:
        return obj.customer.name

    @admin.display(description=gettext_lazy("SLA"))
    def sla(self, obj: Complaint) -> str:
        return sla_badge_html(obj)

    @admin.display(description=gettext_lazy("time left"))
    def time_left_display(self, obj: Complaint) -> str:
        return time_left_text(obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("intake/", wrap(self.intake_view), name="complaints_complaint_intake"),
            path(
                "<int:pk>/act/<str:action>/",
                wrap(self.action_view),
                name="complaints_complaint_action",
            ),
            *super().get_urls(),
        ]

    # --- Permissions of the custom pages --------------------------------------------------------

    def has_act_permission(self, request: HttpRequest, action: CaseAction, obj=None) -> bool:
        """May this user run this case action (the service checks the case's state)?"""
        return not user_is_auditor(request.user) and request.user.has_perm(action.permission)

    def has_intake_permission(self, request: HttpRequest) -> bool:
        """May this user record a complaint received by phone or letter?"""
        return not user_is_auditor(request.user) and request.user.has_perm(
            "complaints.work_complaint"
        )

    # --- Case page -----------------------------------------------------------------------------

    def _case(self, request: HttpRequest, pk: Any, *related: str) -> Complaint:
        if not str(pk).isdigit():
            raise Http404
        return get_object_or_404(self.get_queryset(request).select_related(*related), pk=pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        complaint = self._case(
            request,
            object_id,
            "customer",
            "account",
            "assignee",
            "drafted_by",
            "approved_by",
            "extension_requested_by",
        )
        if not self.has_view_permission(request, complaint):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "{} {}".format(_("Complaint"), complaint.reference),
            "complaint": complaint,
            "original": complaint,
            "actions": self._offered_actions(request, complaint),
            "has_history": True,
            **self._case_context(complaint),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _case_context(self, complaint: Complaint) -> dict[str, Any]:
        items = list(complaint.items.select_related("loan").order_by("pk"))
        evidence = {ev.loan.pk: ev for ev in evidence_for_loans(loans=[i.loan for i in items])}
        now = timezone.now()
        return {
            "sla": sla_badge_html(complaint, now),
            "time_left": time_left_text(complaint, now),
            "accounts": list(
                CreditAccount.objects.filter(customer_id=complaint.customer_id)
                .select_related("delinquency")  # the computed overdue figures
                .order_by("pk")
            ),
            "rows": [(i, evidence.get(i.loan_id)) for i in items],
            "timeline": list(selectors.complaint_timeline(complaint=complaint)),
            "notes": list(complaint.notes.select_related("author").order_by("created_at")),
            "reviews": list(complaint.reviews.select_related("handler").order_by("pk")),
            "compensation": Compensation.objects.filter(complaint=complaint).first(),
            "bureau": list(
                CreditReportCorrection.objects.filter(origin=f"complaint:{complaint.reference}")
                .select_related("loan")
                .prefetch_related("bureau_submissions")
                .order_by("pk")
            ),
        }

    def _offered_actions(self, request: HttpRequest, complaint: Complaint) -> list[CaseAction]:
        return [
            action
            for action in ACTIONS.values()
            if action.offered(complaint) and self.has_act_permission(request, action, complaint)
        ]

    # --- Actions -------------------------------------------------------------------------------

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        case_action = ACTIONS.get(action)
        if case_action is None:
            raise Http404
        complaint = self._case(request, pk, "customer")
        if not self.has_act_permission(request, case_action, complaint):
            raise PermissionDenied
        case_url = reverse("admin:complaints_complaint_change", args=[pk])
        form = case_action.form(complaint, request.POST or None)
        if request.method == "POST" and (form is None or form.is_valid()):
            done = self._perform(request, case_action, complaint, form, case_url)
            if done is not None:
                return done
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{case_action.title} — {complaint.reference}",
            "complaint": complaint,
            "form": form,
            "case_url": case_url,
        }
        return TemplateResponse(request, "admin/complaints/complaint/action.html", context)

    def _perform(
        self,
        request: HttpRequest,
        case_action: CaseAction,
        complaint: Complaint,
        form: Any,
        case_url: str,
    ) -> HttpResponse | None:
        """Run the action's service; None when the form is to be shown again with errors."""
        try:
            case_action.perform(complaint, request.user, form.cleaned_data if form else {})
        except ApplicationError as exc:
            if exc.code == "stepup_required":
                messages.warning(request, exc.message)
                return HttpResponseRedirect(stepup_url(request.get_full_path()))
            if form is not None and exc.fields:
                form_add_application_error(form, exc)
                return None
            messages.error(request, exc.message)
            return HttpResponseRedirect(case_url)
        messages.success(request, _("Done: %(action)s") % {"action": case_action.title})
        return HttpResponseRedirect(case_url)

    # --- Intake of a phone call or a letter ----------------------------------------------------

    def intake_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_intake_permission(request):
            raise PermissionDenied
        form = staff_forms.StaffIntakeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            complaint = self._intake_submit(request, form)
            if complaint is not None:
                messages.success(
                    request, _("Complaint %(ref)s recorded.") % {"ref": complaint.reference}
                )
                return HttpResponseRedirect(
                    reverse("admin:complaints_complaint_change", args=[complaint.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Record a complaint received by phone, letter or regulator referral"),
            "form": form,
            "case_url": reverse("admin:complaints_complaint_changelist"),
        }
        return TemplateResponse(request, "admin/complaints/complaint/action.html", context)

    def _intake_submit(self, request: HttpRequest, form: Any) -> Complaint | None:
        """The complaint the agent entered, or None with the form's errors set."""
        d = form.cleaned_data
        account = CreditAccount.objects.filter(number=d["account_number"].strip()).first()
        if account is None:
            form.add_error("account_number", _("No such account."))
            return None
        refs = {r.strip() for r in d["loan_references"].split() if r.strip()}
        loan_ids = list(
            LoanRecord.objects.filter(account=account, reference__in=refs).values_list(
                "pk", flat=True
            )
        )
        if len(loan_ids) != len(refs):
            form.add_error("loan_references", _("Not loan records of this account."))
            return None
        referral = None
        if d["channel"] == Channel.REGULATOR:
            referral = services.Referral(
                source=d["regulator_source"],
                number=d["referral_number"],
                due_at=d.get("regulator_due_at"),
            )
        try:
            return services.complaint_submit(
                actor=request.user,
                reason=STAFF_INTAKE_REASON,
                referral=referral,
                customer=account.customer,
                category=d["category"],
                description=d["description"],
                channel=d["channel"],
                account_id=account.pk,
                loan_record_ids=loan_ids,
                account_compromised=d["account_compromised"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            return None

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "intake_url": reverse("admin:complaints_complaint_intake"),
        }
        return super().changelist_view(request, extra_context)


@admin.register(VerificationRequest)
class VerificationRequestAdmin(DomainAdmin):
    list_display = ("complaint", "status", "outcome", "received_at", "due_at", "handler")
    list_select_related = ("complaint", "handler")
    list_filter = ("status", "outcome")
    raw_id_fields = ("complaint", "handler")


@admin.register(IncidentAlert)
class IncidentAlertAdmin(DomainAdmin):
    list_display = ("dimension", "value", "complaint_count", "window_start", "raised_at")
    list_filter = ("dimension",)

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).order_by("-raised_at")
