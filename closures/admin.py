"""Back-office of closures: queues (proposals to review, closures taking effect, appeals to
decide, alerts), and pages that call the services. Rows are read-only; every change goes through
a service with a reason. Approving and upholding ask for a fresh one-time code first.

The custom pages (Django's own admin pattern): each is wrapped in `admin_site.admin_view`, fetches
through `self.get_queryset(request)` (404 for a row that is not there), asks a `has_*_permission`
hook and answers a missing permission with 403. The closure's steps are a table of small action
objects (`CLOSURE_STEPS`: title, permission, service)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import hooks as account_hooks
from accounts.enums import AccountStatus
from core import roles
from core.admin_helpers import DomainAdmin, reason_action_response
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.stepup import stepup_is_fresh, stepup_url

from . import services
from .campaign_forms import CampaignForm, CampaignStepForm
from .enums import (
    OPEN_APPEAL_STATUSES,
    AppealStatus,
    CampaignStatus,
    ClosureSource,
    ClosureStatus,
)
from .forms import DecideForm, ProposeForm, ReasonOnlyForm
from .models import Appeal, ClosureAlert, ClosureCampaign, ClosureRequest
from .services import campaigns as campaign_services
from .views import attachment_response


def _form_page(modeladmin, request, *, title, form, obj=None) -> TemplateResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "original": obj,
        "form": form,
    }
    return TemplateResponse(request, "admin/closures/service_form.html", context)


def _proposal_source(user: Any) -> str:
    """A risk officer's proposal says so; anyone else who may propose is an agent."""
    if roles.user_role(user) == roles.RISK_OFFICER:
        return ClosureSource.RISK_OFFICER
    return ClosureSource.AGENT


@dataclass(frozen=True)
class ClosureStep:
    """A step on one closure: a reason form, the permission hook it needs, the service."""

    title: Any  # a lazy translation
    permission: str  # ClosureRequestAdmin.has_<permission>_permission
    service: Callable[..., ClosureRequest]
    stepup: bool = False  # needs a fresh one-time code before the form


CLOSURE_STEPS = {
    "approve": ClosureStep(
        gettext_lazy("Approve the closure"), "approve", services.closure_approve, stepup=True
    ),
    "reject": ClosureStep(gettext_lazy("Reject the closure"), "approve", services.closure_reject),
    # The service lets only the proposer withdraw; the page needs the right to propose.
    "withdraw": ClosureStep(
        gettext_lazy("Withdraw the proposal"), "propose", services.closure_withdraw
    ),
}


class ClosureQueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"
    _STATUSES = {
        "review": ClosureStatus.PENDING_REVIEW,
        "effect": ClosureStatus.APPROVED,
        "closing": ClosureStatus.CLOSING,
    }

    def lookups(self, request, model_admin):
        return [
            ("review", _("Proposals to review")),
            ("effect", _("Approved, taking effect")),
            ("closing", _("Closing (balance owed)")),
        ]

    def queryset(self, request, queryset):
        status = self._STATUSES.get(self.value())
        return queryset.filter(status=status) if status else queryset


@admin.register(ClosureRequest)
class ClosureRequestAdmin(DomainAdmin):
    list_display = ("id", "account", "reason", "status", "source", "proposed_by", "created_at",
                    "effective_at")  # fmt: skip
    list_select_related = ("account", "proposed_by")
    list_filter = (ClosureQueueFilter, "status", "reason")
    search_fields = ("=id", "=account__number")
    ordering = ("-created_at",)
    raw_id_fields = ("account", "proposed_by", "approved_by", "decided_by")
    exclude = ("risk_signals",)
    change_form_template = "admin/closures/closurerequest/change_form.html"
    actions = ["reject_selected"]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("propose/", wrap(self.propose_view), name="closures_closurerequest_propose"),
            *[
                path(
                    f"<int:closure_id>/{step}/",
                    wrap(self.step_view),
                    {"step": step},
                    name=f"closures_closurerequest_{step}",
                )
                for step in CLOSURE_STEPS
            ],
            *super().get_urls(),
        ]

    def has_propose_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.propose_closure")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.approve_closure")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        closure = get_object_or_404(
            self.get_queryset(request).select_related("account"), pk=object_id
        )
        account = closure.account
        pending = closure.status == ClosureStatus.PENDING_REVIEW
        extra = {
            "events": closure.events.select_related("actor", "appeal").order_by("at", "pk"),
            "signals": closure.risk_signals.order_by("pk"),
            "loans": account.loans.order_by("-created_at", "-id")[:20],
            "other_closures": ClosureRequest.objects.filter(account=account)
            .exclude(pk=closure.pk)
            .order_by("-created_at")[:20],
            "appeal": Appeal.objects.filter(closure=closure).first(),
            "can_review": pending and self.has_approve_permission(request),
            "can_withdraw": pending and closure.proposed_by_id == request.user.pk,
            "complaints": account_hooks.cases_about_account("complaints", account_id=account.pk),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def propose_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_propose_permission(request):
            raise PermissionDenied
        form = ProposeForm(request.POST or None, initial={"account": request.GET.get("account")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                closure = services.closure_propose(
                    actor=request.user,
                    reason=data["reason"],
                    account_id=data["account"],
                    closure_reason=data["closure_reason"],
                    explanation=data["explanation"],
                    internal_note=data["internal_note"],
                    source=_proposal_source(request.user),
                )
            except Http404:
                form.add_error("account", _("No such account."))
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                self.message_user(request, _("Closure proposed for review."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_closurerequest_change", args=[closure.pk])
                )
        return _form_page(self, request, title=_("Propose a closure"), form=form)

    def step_view(self, request: HttpRequest, closure_id: int, step: str) -> HttpResponse:
        action = CLOSURE_STEPS[step]  # the URL patterns route only these steps
        closure = get_object_or_404(self.get_queryset(request), pk=closure_id)
        if not getattr(self, f"has_{action.permission}_permission")(request):
            raise PermissionDenied
        here = request.get_full_path()
        if action.stepup and not stepup_is_fresh(user=request.user):
            return HttpResponseRedirect(stepup_url(here))
        form = ReasonOnlyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                action.service(
                    actor=request.user, closure_id=closure.pk, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    return HttpResponseRedirect(stepup_url(here))
                form_add_application_error(form, exc)
            else:
                done = _("%(step)s: done") % {"step": action.title}
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_closurerequest_change", args=[closure.pk])
                )
        return _form_page(self, request, title=action.title, form=form, obj=closure)

    @admin.action(description=gettext_lazy("Reject the selected proposals"),
                  permissions=["approve"])  # fmt: skip
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return reason_action_response(
            self,
            request,
            queryset,
            action="reject_selected",
            title=_("Reject the closure"),
            call=lambda closure, reason: services.closure_reject(
                actor=request.user, closure_id=closure.pk, reason=reason
            ),
            describe=lambda closure: f"#{closure.pk}",
        )


class AppealQueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("open", _("Appeals to decide"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=OPEN_APPEAL_STATUSES)
        return queryset


@admin.register(Appeal)
class AppealAdmin(DomainAdmin):
    list_display = ("reference", "closure", "status", "filed_at", "due_at", "reviewer",
                    "decided_by")  # fmt: skip
    list_select_related = ("closure", "reviewer", "decided_by")
    list_filter = (AppealQueueFilter, "status")
    search_fields = ("^reference",)
    ordering = ("due_at",)
    raw_id_fields = ("closure", "filed_by", "reviewer", "decided_by")
    # The file has no URL (private storage); the object tools link to the access-checked view.
    exclude = ("attachment",)
    change_form_template = "admin/closures/appeal/change_form.html"

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [f for f in super().get_readonly_fields(request, obj) if f != "attachment"]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:appeal_id>/decide/", wrap(self.decide_view), name="closures_appeal_decide"),
            path("<int:appeal_id>/take/", wrap(self.take_view), name="closures_appeal_take"),
            path(
                "<int:appeal_id>/attachment/",
                wrap(self.attachment_view),
                name="closures_appeal_attachment",
            ),
            *super().get_urls(),
        ]

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.decide_appeal")

    def _appeal(self, request: HttpRequest, appeal_id: int) -> Appeal:
        return get_object_or_404(self.get_queryset(request).select_related("closure"), pk=appeal_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        appeal = self._appeal(request, object_id)
        extra = {
            "closure": appeal.closure,
            "events": appeal.closure.events.select_related("actor", "appeal").order_by("at", "pk"),
            "can_decide": appeal.status in OPEN_APPEAL_STATUSES
            and self.has_decide_permission(request),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def attachment_view(self, request: HttpRequest, appeal_id: int):
        appeal = self._appeal(request, appeal_id)
        if not self.has_view_permission(request, appeal):
            raise PermissionDenied
        return attachment_response(appeal)

    def take_view(self, request: HttpRequest, appeal_id: int) -> HttpResponse:
        appeal = self._appeal(request, appeal_id)
        if not self.has_decide_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            try:
                services.appeal_take_up(actor=request.user, appeal_id=appeal.pk)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:closures_appeal_change", args=[appeal.pk]))

    def decide_view(self, request: HttpRequest, appeal_id: int) -> HttpResponse:
        appeal = self._appeal(request, appeal_id)
        if not self.has_decide_permission(request):
            raise PermissionDenied
        here = request.get_full_path()
        form = DecideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if data["outcome"] == AppealStatus.UPHELD and not stepup_is_fresh(user=request.user):
                return HttpResponseRedirect(stepup_url(here))
            try:
                services.appeal_decide(
                    actor=request.user,
                    appeal_id=appeal.pk,
                    outcome=data["outcome"],
                    decision_text=data["decision_text"],
                    reason=data["reason"],
                )
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    return HttpResponseRedirect(stepup_url(here))
                form_add_application_error(form, exc)
            else:
                self.message_user(request, _("The appeal is decided."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_appeal_change", args=[appeal.pk])
                )
        title = _("Decide the appeal %(ref)s") % {"ref": appeal.reference}
        return _form_page(self, request, title=title, form=form, obj=appeal)


@admin.register(ClosureAlert)
class ClosureAlertAdmin(DomainAdmin):
    list_display = ("raised_at", "rule", "closure", "staff", "acknowledged_by", "acknowledged_at")
    list_select_related = ("closure", "staff", "acknowledged_by")
    list_filter = ("rule",)
    ordering = ("-raised_at",)
    raw_id_fields = ("closure", "staff", "acknowledged_by")
    actions = ["acknowledge"]

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.change_closurealert")

    @admin.action(description=gettext_lazy("Acknowledge"), permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return reason_action_response(
            self,
            request,
            queryset,
            action="acknowledge",
            title=_("Acknowledge"),
            call=lambda alert, reason: services.closure_alert_acknowledge(
                actor=request.user, alert_id=alert.pk, reason=reason
            ),
        )


# --- Policy closure campaigns ----------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignStep:
    """A step on one campaign: a reason form, the permission hook it needs, the service, and
    the statuses it is offered from."""

    title: Any  # a lazy translation
    permission: str  # ClosureCampaignAdmin.has_<permission>_permission
    service: Callable[..., ClosureCampaign]
    offered_from: tuple[str, ...]
    stepup: bool = False


CAMPAIGN_STEPS = {
    "submit": CampaignStep(
        gettext_lazy("Submit the campaign for approval"),
        "create",
        services.campaign_submit,
        (CampaignStatus.DRAFT,),
    ),
    "approve": CampaignStep(
        gettext_lazy("Approve the campaign"),
        "approve",
        services.campaign_approve,
        (CampaignStatus.PENDING_APPROVAL,),
        stepup=True,
    ),
    "reject": CampaignStep(
        gettext_lazy("Reject the campaign"),
        "approve",
        services.campaign_reject,
        (CampaignStatus.PENDING_APPROVAL,),
    ),
    "stop": CampaignStep(
        gettext_lazy("Stop the campaign"),
        "stop",
        services.campaign_stop,
        (
            CampaignStatus.DRAFT,
            CampaignStatus.PENDING_APPROVAL,
            CampaignStatus.APPROVED,
            CampaignStatus.RUNNING,
        ),
    ),  # fmt: skip
}


def _yuan(amount: str | None) -> str:
    """¥20,000.00 in both languages (locale/GLOSSARY.md); an em dash for none."""
    return f"¥{Decimal(amount):,.2f}" if amount not in (None, "") else "—"


def _segment_rows(campaign: ClosureCampaign) -> list[tuple[Any, Any]]:
    """The segment's criteria as (label, value) rows, in the form's words."""
    form = CampaignForm()
    rows = []
    for name in CampaignForm.SEGMENT_FIELDS:
        if name not in campaign.segment:
            continue
        field = form.fields[name]
        value = campaign.segment[name]
        choices = dict(getattr(field, "choices", []) or [])
        rows.append((field.label, choices.get(value, value)))
    return rows


@admin.register(ClosureCampaign)
class ClosureCampaignAdmin(DomainAdmin):
    list_display = ("id", "title", "reason", "status", "matched_count", "proposed_count",
                    "created_by", "approved_by", "created_at")  # fmt: skip
    list_select_related = ("created_by", "approved_by")
    list_filter = ("status", "reason")
    search_fields = ("=id", "^title")
    ordering = ("-created_at",)
    raw_id_fields = ("created_by", "approved_by", "decided_by")
    # Who and when; the segment, the sample, the texts and the figures are shown in words and
    # tables under them (change_form.html).
    fields = ("title", "status", "created_by", "created_at", "submitted_at", "approved_by",
              "approved_at", "approval_reason", "started_at", "finished_at", "decided_by",
              "ended_at")  # fmt: skip
    change_form_template = "admin/closures/closurecampaign/change_form.html"
    change_list_template = "admin/closures/closurecampaign/change_list.html"
    # Each step is a page on one campaign (CAMPAIGN_STEPS), showing what it applies to.
    actions = None

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("create/", wrap(self.create_view), name="closures_closurecampaign_create"),
            path(
                "<int:campaign_id>/recount/",
                wrap(self.recount_view),
                name="closures_closurecampaign_recount",
            ),
            *[
                path(
                    f"<int:campaign_id>/{step}/",
                    wrap(self.step_view),
                    {"step": step},
                    name=f"closures_closurecampaign_{step}",
                )
                for step in CAMPAIGN_STEPS
            ],
            *super().get_urls(),
        ]

    def has_create_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.create_campaign")

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.approve_campaign")

    def has_stop_permission(self, request: HttpRequest) -> bool:
        return self.has_create_permission(request) or self.has_approve_permission(request)

    def _steps_for(self, request: HttpRequest, campaign: ClosureCampaign) -> list[tuple[str, Any]]:
        return [
            (name, step.title)
            for name, step in CAMPAIGN_STEPS.items()
            if campaign.status in step.offered_from
            and getattr(self, f"has_{step.permission}_permission")(request)
        ]

    def _page_context(self, request: HttpRequest, campaign: ClosureCampaign) -> dict[str, Any]:
        return {
            "campaign": campaign,
            "segment_rows": _segment_rows(campaign),
            "sample_rows": [
                {
                    **row,
                    "status_label": AccountStatus(row["status"]).label,
                    "balance": _yuan(row["outstanding_balance"]),
                    "past_due": _yuan(row["amount_past_due"]),
                }
                for row in campaign.sample
            ],
            "is_large": campaign.matched_count >= campaign_services.large_segment_threshold(),
            "batch_size": campaign_services.batch_size_default(),
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = get_object_or_404(
            self.get_queryset(request).select_related("created_by", "approved_by", "decided_by"),
            pk=object_id,
        )
        appeals = (
            Appeal.objects.filter(closure__campaign=campaign)
            .select_related("closure__account")
            .order_by("-filed_at")[:50]
        )
        extra = {
            **self._page_context(request, campaign),
            "progress": campaign_services.campaign_progress(campaign),
            "appeals": appeals,
            "steps": self._steps_for(request, campaign),
            "can_recount": campaign.status
            in (CampaignStatus.DRAFT, CampaignStatus.PENDING_APPROVAL)
            and self.has_stop_permission(request),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def create_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_create_permission(request):
            raise PermissionDenied
        form = CampaignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                campaign = services.campaign_create(
                    actor=request.user,
                    reason=data["reason"],
                    title=data["title"],
                    closure_reason=data["closure_reason"],
                    segment=form.segment(),
                    explanation_zh=data["explanation_zh"],
                    explanation_en=data["explanation_en"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                self.message_user(
                    request,
                    _("Campaign created: check the accounts it matches, then submit it."),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse("admin:closures_closurecampaign_change", args=[campaign.pk])
                )
        return _form_page(self, request, title=_("New closure campaign"), form=form)

    def recount_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = get_object_or_404(self.get_queryset(request), pk=campaign_id)
        if not self.has_stop_permission(request):  # creators and approvers; not auditors
            raise PermissionDenied
        if request.method == "POST":
            services.campaign_preview_refresh(actor=request.user, campaign_id=campaign.pk)
        return HttpResponseRedirect(
            reverse("admin:closures_closurecampaign_change", args=[campaign.pk])
        )

    def step_view(self, request: HttpRequest, campaign_id: int, step: str) -> HttpResponse:
        action = CAMPAIGN_STEPS[step]  # the URL patterns route only these steps
        campaign = get_object_or_404(
            self.get_queryset(request).select_related("created_by"), pk=campaign_id
        )
        if not getattr(self, f"has_{action.permission}_permission")(request):
            raise PermissionDenied
        here = request.get_full_path()
        # The code before the page, never after the reviewer typed their reason.
        if action.stepup and not stepup_is_fresh(user=request.user):
            return HttpResponseRedirect(stepup_url(here))
        form = CampaignStepForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                action.service(
                    actor=request.user, campaign_id=campaign.pk, reason=form.cleaned_data["reason"]
                )
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    return HttpResponseRedirect(stepup_url(here))
                form_add_application_error(form, exc)
            else:
                done = _("%(step)s: done") % {"step": action.title}
                self.message_user(request, done, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_closurecampaign_change", args=[campaign.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            **self._page_context(request, campaign),
            "title": action.title,
            "opts": self.model._meta,
            "original": campaign,
            "form": form,
            "step": step,
        }
        return TemplateResponse(request, "admin/closures/closurecampaign/step.html", context)
