"""Back-office of closures: queues (proposals to review, closures taking effect, appeals to
decide, alerts), and pages that call the services. Rows are read-only; every change goes through
a service with a reason. Approving and upholding ask for a fresh one-time code first."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import hooks as account_hooks
from accounts.models import CreditAccount
from core.admin_helpers import DomainAdmin, reason_action_response
from core.errors import ApplicationError
from core.stepup import stepup_is_fresh, stepup_url

from . import services
from .enums import STAFF_REASONS, AppealStatus, ClosureReason, ClosureSource, ClosureStatus
from .models import Appeal, ClosureAlert, ClosureRequest
from .views import attachment_response


class ClosureQueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("review", _("Proposals to review")),
            ("effect", _("Approved, taking effect")),
            ("closing", _("Closing (balance owed)")),
        ]

    def queryset(self, request, queryset):
        status = {
            "review": ClosureStatus.PENDING_REVIEW,
            "effect": ClosureStatus.APPROVED,
            "closing": ClosureStatus.CLOSING,
        }.get(self.value())
        return queryset.filter(status=status) if status else queryset


class ReasonOnlyForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 3})
    )


class ProposeForm(forms.Form):
    account = forms.IntegerField(label=gettext_lazy("Account id"))
    closure_reason = forms.ChoiceField(
        label=gettext_lazy("Closure reason"), choices=[(r.value, r.label) for r in STAFF_REASONS]
    )
    explanation = forms.CharField(
        label=gettext_lazy("Explanation for the customer (plain words)"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    internal_note = forms.CharField(
        label=gettext_lazy("Internal note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    reason = forms.CharField(label=gettext_lazy("Reason (recorded in the history)"), max_length=500)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[
            (AppealStatus.UPHELD, AppealStatus.UPHELD.label),
            (AppealStatus.DISMISSED, AppealStatus.DISMISSED.label),
        ],  # fmt: skip
        widget=forms.RadioSelect,
    )
    decision_text = forms.CharField(
        label=gettext_lazy("Decision and reasons, for the customer"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    reason = forms.CharField(label=gettext_lazy("Reason (recorded in the history)"), max_length=500)


def _form_page(modeladmin, request, *, title, form, obj=None, extra=None) -> TemplateResponse:
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "original": obj,
        "form": form,
        **(extra or {}),
    }
    return TemplateResponse(request, "admin/closures/service_form.html", context)


def _apply_error(form, exc: ApplicationError) -> None:
    for field, errors in (exc.fields or {}).items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.fields:
        form.add_error(None, exc.message)


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

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("propose/", wrap(self.propose_view), name="closures_closurerequest_propose"),
            *[
                path(
                    f"<int:closure_id>/{step}/",
                    wrap(self.decision_view),
                    {"step": step},
                    name=f"closures_closurerequest_{step}",
                )
                for step in ("approve", "reject", "withdraw")
            ],
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        closure = get_object_or_404(ClosureRequest.objects.select_related("account"), pk=object_id)
        account = closure.account
        extra = {
            "events": closure.events.select_related("actor").order_by("at", "pk"),
            "signals": closure.risk_signals.order_by("pk"),
            "loans": account.loans.order_by("-created_at", "-id")[:20],
            "other_closures": ClosureRequest.objects.filter(account=account)
            .exclude(pk=closure.pk)
            .order_by("-created_at")[:20],
            "appeal": Appeal.objects.filter(closure=closure).first(),
            "can_review": closure.status == ClosureStatus.PENDING_REVIEW
            and request.user.has_perm("closures.approve_closure"),
            "can_withdraw": closure.status == ClosureStatus.PENDING_REVIEW
            and closure.proposed_by_id == request.user.pk,
            "complaints": self._complaints(account),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @staticmethod
    def _complaints(account: CreditAccount):
        return account_hooks.cases_about_account("complaints", account_id=account.pk)

    def propose_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("closures.propose_closure"):
            raise Http404
        form = ProposeForm(request.POST or None, initial={"account": request.GET.get("account")})
        if request.method == "POST" and form.is_valid():
            role_source = (
                ClosureSource.RISK_OFFICER
                if request.user.groups.filter(name="risk_officer").exists()
                else ClosureSource.AGENT
            )
            try:
                closure = services.closure_propose(
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    account_id=form.cleaned_data["account"],
                    closure_reason=form.cleaned_data["closure_reason"],
                    explanation=form.cleaned_data["explanation"],
                    internal_note=form.cleaned_data["internal_note"],
                    source=role_source,
                )
            except (ApplicationError, Http404) as exc:
                if isinstance(exc, Http404):
                    form.add_error("account", _("No such account."))
                else:
                    _apply_error(form, exc)
            else:
                self.message_user(request, _("Closure proposed for review."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_closurerequest_change", args=[closure.pk])
                )
        return _form_page(self, request, title=_("Propose a closure"), form=form)

    def decision_view(self, request: HttpRequest, closure_id: int, step: str) -> HttpResponse:
        closure = get_object_or_404(ClosureRequest, pk=closure_id)
        calls = {
            "approve": (_("Approve the closure"), services.closure_approve),
            "reject": (_("Reject the closure"), services.closure_reject),
            "withdraw": (_("Withdraw the proposal"), services.closure_withdraw),
        }
        if step not in calls:
            raise Http404
        title, call = calls[step]
        here = request.get_full_path()
        if step == "approve" and not stepup_is_fresh(user=request.user):
            return HttpResponseRedirect(stepup_url(here))
        form = ReasonOnlyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                call(actor=request.user, closure_id=closure.pk, reason=form.cleaned_data["reason"])
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    return HttpResponseRedirect(stepup_url(here))
                _apply_error(form, exc)
            else:
                self.message_user(request, _("%(step)s: done") % {"step": title}, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_closurerequest_change", args=[closure.pk])
                )
        return _form_page(self, request, title=title, form=form, obj=closure)

    actions = ["reject_selected"]

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

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.approve_closure")


class AppealQueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("open", _("Appeals to decide"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(status__in=[AppealStatus.SUBMITTED, AppealStatus.UNDER_REVIEW])
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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        appeal = get_object_or_404(Appeal.objects.select_related("closure"), pk=object_id)
        extra = {
            "closure": appeal.closure,
            "events": appeal.closure.events.select_related("actor").order_by("at", "pk"),
            "can_decide": appeal.status in (AppealStatus.SUBMITTED, AppealStatus.UNDER_REVIEW)
            and request.user.has_perm("closures.decide_appeal"),
        }
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def attachment_view(self, request: HttpRequest, appeal_id: int):
        if not request.user.has_perm("closures.view_appeal"):
            raise Http404
        return attachment_response(get_object_or_404(Appeal, pk=appeal_id))

    def take_view(self, request: HttpRequest, appeal_id: int) -> HttpResponse:
        if request.method == "POST":
            try:
                services.appeal_take_up(actor=request.user, appeal_id=appeal_id)
            except ApplicationError as exc:
                self.message_user(request, exc.message, messages.ERROR)
        return HttpResponseRedirect(reverse("admin:closures_appeal_change", args=[appeal_id]))

    def decide_view(self, request: HttpRequest, appeal_id: int) -> HttpResponse:
        appeal = get_object_or_404(Appeal, pk=appeal_id)
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
                _apply_error(form, exc)
            else:
                self.message_user(request, _("The appeal is decided."), messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:closures_appeal_change", args=[appeal.pk])
                )
        return _form_page(
            self, request, title=_("Decide the appeal %(ref)s") % {"ref": appeal.reference},
            form=form, obj=appeal,
        )  # fmt: skip


@admin.register(ClosureAlert)
class ClosureAlertAdmin(DomainAdmin):
    list_display = ("raised_at", "rule", "closure", "staff", "acknowledged_by", "acknowledged_at")
    list_select_related = ("closure", "staff", "acknowledged_by")
    list_filter = ("rule",)
    ordering = ("-raised_at",)
    raw_id_fields = ("closure", "staff", "acknowledged_by")
    actions = ["acknowledge"]

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

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("closures.change_closurealert")


__all__ = ["ClosureReason"]
