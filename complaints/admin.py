"""The agents' admin: queues with SLA badges, the case page (customer's accounts, disputed
records with their trail and indicators, timeline) and every action as a form page that calls
one service. Nothing is edited as a raw field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import CreditAccount, LoanRecord
from core import roles
from core.admin_helpers import DomainAdmin, user_is_auditor
from core.errors import ApplicationError
from core.stepup import stepup_url

from . import forms as staff_forms
from . import selectors, services
from .enums import OPEN_STATUSES, Status
from .evidence import evidence_for_loans
from .models import CaseEvent, Complaint, IncidentAlert, VerificationRequest

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


# action name -> (form class or None, permission, title)
ACTIONS: dict[str, tuple[Any, str, Any]] = {
    "take": (None, "complaints.work_complaint", gettext_lazy("Take this case")),
    "assign": (staff_forms.AssignForm, "complaints.work_complaint", gettext_lazy("Assign")),
    "note": (staff_forms.NoteForm, "complaints.work_complaint", gettext_lazy("Add internal note")),
    "message": (
        staff_forms.MessageForm,
        "complaints.work_complaint",
        gettext_lazy("Message the customer"),
    ),
    "extend": (
        staff_forms.ReasonForm,
        "complaints.work_complaint",
        gettext_lazy("Extend to 30 days"),
    ),
    "request_extension": (
        staff_forms.ReasonForm,
        "complaints.work_complaint",
        gettext_lazy("Ask a manager for 60 days"),
    ),
    "decide_extension": (
        staff_forms.ExtensionDecisionForm,
        "complaints.approve_extension",
        gettext_lazy("Decide the request for 60 days"),
    ),
    "pause": (staff_forms.PauseForm, "complaints.work_complaint", gettext_lazy("Pause the clock")),
    "resume": (staff_forms.ReasonForm, "complaints.work_complaint", gettext_lazy("Resume")),
    "decide": (staff_forms.DecisionForm, "complaints.work_complaint", gettext_lazy("Decide")),
    "approve": (
        staff_forms.ReasonForm,
        "complaints.approve_decision",
        gettext_lazy("Approve the decision"),
    ),
    "return": (
        staff_forms.ReasonForm,
        "complaints.approve_decision",
        gettext_lazy("Return the decision"),
    ),
    "close": (staff_forms.ReasonForm, "complaints.work_complaint", gettext_lazy("Close")),
    "review_decide": (
        staff_forms.ReviewDecisionForm,
        "complaints.decide_review",
        gettext_lazy("Decide the review"),
    ),
}


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

    # --- Case page -----------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        complaint = (
            Complaint.objects.select_related(
                "customer",
                "account",
                "assignee",
                "drafted_by",
                "approved_by",
                "extension_requested_by",
            )
            .filter(pk=object_id)
            .first()
        )
        if complaint is None or not self.has_view_permission(request, complaint):
            raise Http404
        items = list(complaint.items.select_related("loan").order_by("pk"))
        evidence = {ev.loan.pk: ev for ev in evidence_for_loans(loans=[i.loan for i in items])}
        now = timezone.now()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "{} {}".format(_("Complaint"), complaint.reference),
            "complaint": complaint,
            "original": complaint,
            "sla": sla_badge_html(complaint, now),
            "time_left": time_left_text(complaint, now),
            "accounts": list(
                CreditAccount.objects.filter(customer_id=complaint.customer_id).order_by("pk")
            ),
            "rows": [(i, evidence.get(i.loan_id)) for i in items],
            "timeline": list(
                CaseEvent.objects.filter(complaint=complaint)
                .select_related("actor")
                .order_by("at", "pk")
            ),
            "notes": list(complaint.notes.select_related("author").order_by("created_at")),
            "reviews": list(complaint.reviews.select_related("handler").order_by("pk")),
            "compensation": getattr(complaint, "compensation", None)
            if hasattr(complaint, "compensation")
            else None,
            "actions": self._available_actions(request, complaint),
            "has_history": True,
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _available_actions(self, request, c: Complaint) -> list[tuple[str, Any]]:
        if user_is_auditor(request.user):
            return []
        open_ = c.status in OPEN_STATUSES
        wanted = []
        if open_:
            wanted += ["take", "assign", "note", "message"]
            if c.clock_days < 30:
                wanted.append("extend")
            elif c.clock_days == 30 and not c.extension_requested_by_id:
                wanted.append("request_extension")
            if c.extension_requested_by_id:
                wanted.append("decide_extension")
            wanted.append("resume" if c.paused_at else "pause")
            if c.status in (Status.RECEIVED, Status.INVESTIGATING):
                wanted.append("decide")
            if c.status == Status.PENDING_APPROVAL:
                wanted += ["approve", "return"]
        else:
            wanted += ["note", "message"]
        if c.status == Status.DECIDED:
            wanted.append("close")
        if c.status == Status.UNDER_REVIEW:
            wanted.append("review_decide")
        return [
            (name, ACTIONS[name][2]) for name in wanted if request.user.has_perm(ACTIONS[name][1])
        ]

    # --- Actions -------------------------------------------------------------------------------

    def _form(self, action: str, request: HttpRequest, complaint: Complaint, data=None):
        form_class = ACTIONS[action][0]
        if form_class is None:
            return None
        if form_class is staff_forms.AssignForm:
            staff_qs = (
                roles.users_in_role(roles.AGENT)
                | roles.users_in_role(roles.REVIEWER)
                | (roles.users_in_role(roles.MANAGER))
            )
            return form_class(data, staff_qs=staff_qs.distinct().order_by("username"))
        if form_class is staff_forms.DecisionForm:
            items = complaint.items.select_related("loan").order_by("pk")
            return form_class(data, items=items)
        return form_class(data)

    def _run(self, action: str, request: HttpRequest, c: Complaint, d: dict) -> None:
        user = request.user
        reason = d.get("reason") or str(ACTIONS[action][2])
        if action == "take":
            services.complaint_assign(complaint_id=c.pk, assignee=user, actor=user, reason=reason)
        elif action == "assign":
            services.complaint_assign(
                complaint_id=c.pk, assignee=d["assignee"], actor=user, reason=reason
            )
        elif action == "note":
            services.complaint_note_add(complaint_id=c.pk, actor=user, text=d["text"])
        elif action == "message":
            services.complaint_message_send(complaint_id=c.pk, actor=user, text=d["text"])
        elif action == "extend":
            services.complaint_extend(complaint_id=c.pk, actor=user, reason=d["reason"])
        elif action == "request_extension":
            services.complaint_extension_request(complaint_id=c.pk, actor=user, reason=d["reason"])
        elif action == "decide_extension":
            services.complaint_extension_approve(
                complaint_id=c.pk, actor=user, reason=d["reason"], approve=d["approve"]
            )
        elif action == "pause":
            services.complaint_pause(
                complaint_id=c.pk, actor=user, reason=d["reason"], pause_reason=d["pause_reason"]
            )
        elif action == "resume":
            services.complaint_resume(complaint_id=c.pk, actor=user, reason=d["reason"])
        elif action == "decide":
            items = [k for k in d if k.startswith("item_") and k.endswith("_outcome")]
            decisions = [
                services.ItemDecision(
                    item_id=int(k.split("_")[1]),
                    outcome=d[k],
                    reasons=d[k.replace("_outcome", "_reasons")],
                )
                for k in items
            ]
            amount: Decimal | None = d.get("compensation_amount") or None
            services.complaint_decide(
                complaint_id=c.pk,
                actor=user,
                reason=reason,
                decision_text=d["decision_text"],
                root_cause=d["root_cause"],
                item_decisions=decisions,
                compensation_amount=amount,
                compensation_reason=d.get("compensation_reason", ""),
                outcome=d.get("outcome") or None,
            )
        elif action == "approve":
            services.complaint_decision_approve(complaint_id=c.pk, actor=user, reason=reason)
        elif action == "return":
            services.complaint_decision_return(complaint_id=c.pk, actor=user, reason=reason)
        elif action == "close":
            services.complaint_close(complaint_id=c.pk, actor=user, reason=reason)
        elif action == "review_decide":
            review = c.reviews.filter(status="submitted").first()
            if review is None:
                raise ApplicationError(_("No open review."), code="no_review")
            services.review_decide(
                review_id=review.pk,
                actor=user,
                reason=reason,
                outcome=d["outcome"],
                decision_text=d["decision_text"],
            )

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        if action not in ACTIONS:
            raise Http404
        complaint = Complaint.objects.filter(pk=pk).select_related("customer").first()
        if complaint is None:
            raise Http404
        if user_is_auditor(request.user) or not request.user.has_perm(ACTIONS[action][1]):
            raise PermissionDenied
        case_url = reverse("admin:complaints_complaint_change", args=[pk])
        form = self._form(action, request, complaint, request.POST or None)
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                self._run(action, request, complaint, form.cleaned_data if form else {})
            except ApplicationError as exc:
                if exc.code == "stepup_required":
                    messages.warning(request, exc.message)
                    return HttpResponseRedirect(stepup_url(request.get_full_path()))
                if form is not None and exc.fields:
                    for field, errs in exc.fields.items():
                        for err in errs:
                            form.add_error(field if field in form.fields else None, err)
                else:
                    messages.error(request, exc.message)
                    return HttpResponseRedirect(case_url)
            else:
                messages.success(request, _("Done: %(action)s") % {"action": ACTIONS[action][2]})
                return HttpResponseRedirect(case_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{ACTIONS[action][2]} — {complaint.reference}",
            "complaint": complaint,
            "form": form,
            "case_url": case_url,
        }
        return TemplateResponse(request, "admin/complaints/complaint/action.html", context)

    def intake_view(self, request: HttpRequest) -> HttpResponse:
        if user_is_auditor(request.user) or not request.user.has_perm("complaints.work_complaint"):
            raise PermissionDenied
        form = staff_forms.StaffIntakeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            account = CreditAccount.objects.filter(number=d["account_number"].strip()).first()
            if account is None:
                form.add_error("account_number", _("No such account."))
            else:
                refs = [r.strip() for r in d["loan_references"].split() if r.strip()]
                loan_ids = list(
                    LoanRecord.objects.filter(account=account, reference__in=refs).values_list(
                        "pk", flat=True
                    )
                )
                if len(loan_ids) != len(set(refs)):
                    form.add_error("loan_references", _("Not loan records of this account."))
                else:
                    try:
                        complaint = services.complaint_submit(
                            actor=request.user,
                            reason=_("Entered by staff"),
                            customer=account.customer,
                            category=d["category"],
                            description=d["description"],
                            channel=d["channel"],
                            account_id=account.pk,
                            loan_record_ids=loan_ids,
                            account_compromised=d["account_compromised"],
                        )
                    except ApplicationError as exc:
                        for field, errs in (exc.fields or {"__all__": [exc.message]}).items():
                            for err in errs:
                                form.add_error(field if field in form.fields else None, err)
                    else:
                        messages.success(
                            request, _("Complaint %(ref)s recorded.") % {"ref": complaint.reference}
                        )
                        return HttpResponseRedirect(
                            reverse("admin:complaints_complaint_change", args=[complaint.pk])
                        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Record a complaint received by phone or letter"),
            "form": form,
            "case_url": reverse("admin:complaints_complaint_changelist"),
        }
        return TemplateResponse(request, "admin/complaints/complaint/action.html", context)

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
