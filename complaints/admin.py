"""The agents' admin: queues with SLA badges, the case page (customer's accounts, disputed
records with their trail and indicators, timeline), the intake of a phone call or letter, and
every case action as a form page that calls one service (the action table is
complaints/case_actions.py). Nothing is edited as a raw field.

Custom pages go through `admin_site.admin_view`, fetch through `get_queryset(request)` and ask
`has_view_permission` / `has_act_permission` / `has_intake_permission`: a missing permission is
a 403, an unknown case or action a 404."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import CreditAccount, Customer, LoanRecord, User
from accounts.selectors import corrections_with_submissions
from core.admin_helpers import DomainAdmin, user_is_auditor
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.stepup import (
    StepUpResult,
    stepup_check,
    stepup_is_fresh,
    stepup_refusal,
    stepup_url,
)

from . import forms as staff_forms
from . import search, selectors, services
from .case_actions import ACTIONS, DECIDE, WORK, CaseAction
from .enums import Channel, EventType, ItemOutcome
from .events import NOTE_EXCERPT, event_display, event_status_display, notice_label
from .evidence import evidence_for_loans
from .models import Complaint, IncidentAlert, VerificationRequest
from .repeats import repeat_badge

STAFF_INTAKE_REASON = gettext_noop("Entered by staff")
# A description longer than this is folded on the case page (<details>), its start shown.
DESCRIPTION_SHOWN = 280
STEPUP_STALE = gettext_lazy(
    "Your one-time code is more than 15 minutes old. Enter the current code from your "
    "authenticator to go on; what you typed is kept."
)
_STEPUP_NEEDED = object()  # _perform: the service asked for a fresh one-time code
# The intake lookup lists at most this many customers.
INTAKE_MATCHES = 20
# The queue's bulk actions handle at most this many cases at once (each is its own transaction).
BULK_LIMIT = 100

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


def _intake_account(number: str) -> CreditAccount | None:
    """The account the intake is for (picked in the lookup or typed), with its customer."""
    number = search.search_term(number).compact
    if not number or not number.isdigit():
        return None
    return CreditAccount.objects.select_related("customer").filter(number=number).first()


def _intake_matches(term: search.SearchTerm) -> list[Customer]:
    """The customers the intake lookup finds (complaints.search), at most INTAKE_MATCHES + 1
    (one more tells the page to ask for a narrower search), each with its accounts."""
    ids = search.customer_ids_matching(term, limit=INTAKE_MATCHES + 1)
    by_id = {
        c.pk: c
        for c in Customer.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("accounts", queryset=CreditAccount.objects.order_by("pk"))
        )
    }
    return [by_id[pk] for pk in ids if pk in by_id]


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


@lru_cache(maxsize=8)
def _queue_url_for(prefix: str) -> str:
    return reverse("admin:complaints_complaint_changelist")


def _queue_url() -> str:
    """The queue's URL (once per script prefix: the rows' links are built from it)."""
    return _queue_url_for(get_script_prefix())


class QueuePaginator(Paginator):
    """The queues' paginator: counts no further than LOOKAHEAD_PAGES past the page asked for
    (``SELECT COUNT(*) FROM (... LIMIT n)``, a few hundred index entries instead of up to
    10,001), so a queue of a million cases pages like one of a hundred. `capped` tells the
    pagination template to show "275+" and a link past the last counted page."""

    LOOKAHEAD_PAGES = 10

    def __init__(self, object_list, per_page, *, page_hint: int = 1, **kwargs) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = (max(page_hint, 1) + self.LOOKAHEAD_PAGES) * per_page
        self.capped = False

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return len(qs)
        counted = qs.order_by()[: self.cap + 1].count()
        self.capped = counted > self.cap
        return min(counted, self.cap)


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
        "reference_link",
        "category",
        repeat_badge,  # the stored count (complaints/repeats.py): no per-row query
        "status",
        "customer_name",
        "assignee",
        "due_at",
        "sla",
        "time_left_display",
    )
    list_select_related = ("customer", "assignee")
    # The reference column is its own link (reference_link): Django's row link resolves and
    # re-encodes the URL with the preserved filters for every row (~0.5 ms a row).
    list_display_links = None
    list_filter = (QueueFilter, "status", "category", "channel")
    # The search box: complaints.search (get_search_results below), not Django's field lookups.
    search_fields = ("^reference",)
    search_help_text = gettext_lazy(
        "Reference, customer name, mobile phone, national ID, loan reference or account number"
    )
    actions = ("bulk_take", "bulk_assign")
    ordering = ("due_at", "id")
    # 25 rows a page (bench.complaints: rendering 50 admin rows alone cost ~100 ms of Python).
    list_per_page = 25
    change_form_template = "admin/complaints/complaint/case.html"

    def get_changelist(self, request, **kwargs):
        return _ComplaintChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        page = request.GET.get("p", "1")
        return QueuePaginator(
            queryset,
            per_page,
            orphans=orphans,
            allow_empty_first_page=allow_empty_first_page,
            page_hint=int(page) if page.isdigit() and len(page) < 7 else 1,
        )

    def get_search_results(self, request, queryset, search_term):
        return search.complaints_matching(queryset, search_term), False

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))  # noqa: S308
    def action_checkbox(self, obj: Complaint) -> str:
        """Django's checkbox column without rendering a form widget template per row (the
        same markup; bench.complaints: ~0.2 ms a row)."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), obj.reference),
        )

    @admin.display(description=gettext_lazy("reference"), ordering="reference")
    def reference_link(self, obj: Complaint) -> str:
        return format_html('<a href="{}{}/change/">{}</a>', _queue_url(), obj.pk, obj.reference)

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

    def has_work_permission(self, request: HttpRequest) -> bool:
        """May this user work cases (the queue's bulk actions)?"""
        return not user_is_auditor(request.user) and request.user.has_perm(WORK)

    # --- Bulk actions on the queue --------------------------------------------------------------

    @admin.action(description=gettext_lazy("Take the selected cases"), permissions=["work"])
    def bulk_take(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(request, queryset, ACTIONS["take"], "bulk_take")

    @admin.action(description=gettext_lazy("Assign the selected cases to…"), permissions=["work"])
    def bulk_assign(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._bulk(request, queryset, ACTIONS["assign"], "bulk_assign")

    def _bulk(
        self, request: HttpRequest, queryset: QuerySet, case_action: CaseAction, name: str
    ) -> HttpResponse | None:
        """An intermediate page (the cases, one reason, the assignee), then each case through
        the action's own service, one transaction each; None goes back to the queue with a
        summary of what was done and what was refused, and why, per case."""
        confirmed = "bulk_confirmed" in request.POST
        data = request.POST if confirmed else None
        form = case_action.form(None, data) or staff_forms.ReasonForm(data)
        if request.POST.get("select_across") != "1":
            # The cases ticked (or listed on the confirmation page), whatever the queue filter
            # shows now: a case someone else took meanwhile is refused by its service and
            # reported, not silently skipped.
            ids = [
                pk
                for pk in request.POST.getlist(ACTION_CHECKBOX_NAME)
                if pk.isdigit() and len(pk) < 19  # a bigint
            ]
            queryset = self.get_queryset(request).filter(pk__in=ids)
        cases = list(
            queryset.select_related("customer", "assignee")
            .defer("customer__national_id", "customer__phone")
            .order_by("due_at", "id")[: BULK_LIMIT + 1]
        )
        if len(cases) > BULK_LIMIT:
            self.message_user(
                request,
                _("Select at most %(limit)d cases at a time.") % {"limit": BULK_LIMIT},
                messages.ERROR,
            )
            return None
        if confirmed and form.is_valid():
            self._bulk_perform(request, case_action, cases, form.cleaned_data)
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": getattr(self, name).short_description,
            "cases": cases,
            "form": form,
            "action": name,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/complaints/complaint/bulk_action.html", context)

    def _bulk_perform(
        self, request: HttpRequest, case_action: CaseAction, cases: list[Complaint], data: dict
    ) -> None:
        done: list[str] = []
        refused: list[tuple[str, str]] = []
        for complaint in cases:
            if not self.has_act_permission(request, case_action, complaint):
                refused.append((complaint.reference, _("You are not allowed to do this.")))
                continue
            try:
                case_action.perform(complaint, request.user, data)
            except ApplicationError as exc:
                refused.append((complaint.reference, str(exc.message)))
            else:
                done.append(complaint.reference)
        if done:
            self.message_user(
                request,
                _("%(action)s: %(count)d done (%(refs)s).")
                % {"action": case_action.title, "count": len(done), "refs": ", ".join(done)},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                _("%(action)s: %(count)d refused.")
                % {"action": case_action.title, "count": len(refused)},
                messages.WARNING,
            )
        for reference, why in refused:
            self.message_user(
                request,
                _("%(ref)s refused: %(why)s") % {"ref": reference, "why": why},
                messages.WARNING,
            )

    # --- Case page -----------------------------------------------------------------------------

    # What the case page reads with the complaint itself (one query). Only four joins: with
    # every staff foreign key joined too (nine tables) PostgreSQL spent ~10 ms planning the
    # statement, far more than running it; the other staff members are read by CASE_STAFF.
    CASE_RELATED = ("customer", "account", "assignee", "compensation")
    # Staff shown on the case page besides the assignee: one query for those set (none for a
    # case nobody drafted, approved, asked an extension for or replied to a regulator on).
    CASE_STAFF = ("drafted_by", "approved_by", "extension_requested_by", "regulator_replied_by")

    def _case(self, request: HttpRequest, pk: Any, *related: str, staff: bool = True) -> Complaint:
        """The case with `related`; with the assignee, the other staff shown (CASE_STAFF) too,
        unless `staff` is False (the case page takes them from its timeline)."""
        if not str(pk).isdigit():
            raise Http404
        complaint = get_object_or_404(self.get_queryset(request).select_related(*related), pk=pk)
        if "assignee" in related and staff:
            self._attach_case_staff(complaint)
        return complaint

    def _attach_case_staff(self, complaint: Complaint, timeline: list[Any] = ()) -> None:
        """CASE_STAFF set on the complaint from the users already read (the assignee, and the
        actors of the timeline's events: the drafter drafted, the approver approved, ...); the
        others in one query."""
        ids = {getattr(complaint, f"{name}_id") for name in self.CASE_STAFF} - {None}
        known = {complaint.assignee_id: complaint.assignee} if complaint.assignee_id else {}
        for event in timeline:
            if event.actor_id is not None:
                known.setdefault(event.actor_id, event.actor)
        missing = ids - known.keys()
        users = {**known, **(User.objects.in_bulk(missing) if missing else {})}
        for name in self.CASE_STAFF:
            user_id = getattr(complaint, f"{name}_id")
            if user_id is not None and user_id in users:
                setattr(complaint, name, users[user_id])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        complaint = self._case(request, object_id, *self.CASE_RELATED, staff=False)
        if not self.has_view_permission(request, complaint):
            raise PermissionDenied
        return self._case_response(request, complaint)

    def _case_response(
        self,
        request: HttpRequest,
        complaint: Complaint,
        bound: dict[str, Any] | None = None,
    ) -> TemplateResponse:
        """The case page; `bound` is the form of an inline action posted with errors, shown
        again in place with what was typed (the evidence stays beside it)."""
        bound = bound or {}
        data = self._case_context(complaint)
        offered = self._offered_actions(request, complaint)
        inline: dict[str, Any] = {}
        for action in offered:
            if not action.inline:
                continue
            if action.name in bound:
                inline[action.name] = bound[action.name]
            elif action.name == "decide":
                inline[action.name] = action.form(complaint, items=data["items"])
            else:
                inline[action.name] = action.form(complaint)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "{} {}".format(_("Complaint"), complaint.reference),
            "complaint": complaint,
            "original": complaint,
            "actions": [a for a in offered if not a.inline],
            "offered": {a.name: a for a in offered},
            "inline_forms": inline,
            # The posted form with its errors (tests and the reason checks read it here).
            "form": next(iter(bound.values()), None),
            "has_history": True,
            **data,
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _case_context(self, complaint: Complaint) -> dict[str, Any]:
        items = list(complaint.items.select_related("loan").order_by("pk"))
        evidence = {ev.loan.pk: ev for ev in evidence_for_loans(loans=[i.loan for i in items])}
        for item in items:
            item.evidence = evidence.get(item.loan_id)  # beside each record of the decide form
        now = timezone.now()
        timeline = list(selectors.complaint_timeline(complaint=complaint))
        for event in timeline:
            event.complaint = complaint  # the sentence of "received" names its channel
            if event.type == EventType.DRAFTED and event.text == DECIDE.default_reason:
                event.text = ""  # no reason typed: the history's default says nothing
            event.sentence = event_display(event)
            event.status_text = event_status_display(event)
        self._attach_case_staff(complaint, timeline)
        notices = selectors.complaint_notices(complaint=complaint)
        for notice in notices:
            notice.label = notice_label(notice.event)
        # Review requests and bureau corrections exist only once a decision was made; a review
        # request is written with its timeline event (services.review), and the case's credit
        # report rows (its `origin`) only for its disputed loan records (services.intake and
        # services.decision): neither is looked for on a case without them.
        decided = complaint.decided_at is not None
        reviewed = any(e.type == EventType.REVIEW_REQUESTED for e in timeline)
        return {
            "sla": sla_badge_html(complaint, now),
            "time_left": time_left_text(complaint, now),
            "accounts": list(
                CreditAccount.objects.filter(customer_id=complaint.customer_id)
                .select_related("delinquency")  # the computed overdue figures
                .order_by("pk")
            ),
            "items": items,
            "rows": [(i, evidence.get(i.loan_id)) for i in items],
            "timeline": timeline,
            "notices": notices,
            "notes": self._case_notes(complaint, timeline),
            "reviews": list(complaint.reviews.select_related("handler").order_by("pk"))
            if decided and reviewed
            else [],
            "compensation": getattr(complaint, "compensation", None),
            "bureau": corrections_with_submissions(origin=f"complaint:{complaint.reference}")
            if decided and items
            else [],
            "description_long": len(complaint.description) > DESCRIPTION_SHOWN,
            "description_shown": DESCRIPTION_SHOWN,
        }

    def _case_notes(self, complaint: Complaint, timeline: list[Any]) -> list[dict[str, Any]]:
        """The internal notes, from their timeline events (no query): an event repeats its
        note whole unless the note is longer than the excerpt, and only then are the notes
        themselves read."""
        events = [e for e in timeline if e.type == EventType.NOTE]
        if any(len(e.text) >= NOTE_EXCERPT for e in events):
            return [
                {"at": n.created_at, "author": n.author, "text": n.text}
                for n in complaint.notes.select_related("author").order_by("created_at")
            ]
        return [{"at": e.at, "author": e.actor, "text": e.text} for e in events]

    def _offered_actions(self, request: HttpRequest, complaint: Complaint) -> list[CaseAction]:
        return [
            action
            for action in ACTIONS.values()
            if action.offered(complaint) and self.has_act_permission(request, action, complaint)
        ]

    # --- Actions -------------------------------------------------------------------------------

    def action_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """An action's own page (GET), or the post of an action's form, from its page or from
        the case page; done, back to the case page. A step-up action asks for the code before
        its page is shown; a post that arrives with the code gone stale is shown again with what
        was typed and a box for a current code (nothing typed is lost)."""
        case_action = ACTIONS.get(action)
        if case_action is None:
            raise Http404
        related = self.CASE_RELATED if case_action.shows_decision else ("customer",)
        complaint = self._case(request, pk, *related)
        if not self.has_act_permission(request, case_action, complaint):
            raise PermissionDenied
        case_url = reverse("admin:complaints_complaint_change", args=[pk])
        posted = request.method == "POST"
        if case_action.stepup and not posted and not stepup_is_fresh(user=request.user):
            return HttpResponseRedirect(stepup_url(request.get_full_path()))
        if not posted and case_action.inline:
            # Done from the case page: no separate page to confirm on.
            return HttpResponseRedirect(f"{case_url}#act-{case_action.name}")
        form = case_action.form(
            complaint, request.POST if posted else None, request.FILES if posted else None
        )
        stepup_error = ""
        if posted and case_action.stepup and not stepup_is_fresh(user=request.user):
            stepup_error = self._stepup_from_post(request)
        if posted and not stepup_error and (form is None or form.is_valid()):
            done = self._perform(request, case_action, complaint, form, case_url)
            if done is _STEPUP_NEEDED:
                stepup_error = str(STEPUP_STALE)
            elif done is not None:
                return done
        if posted and case_action.inline and not stepup_error:
            return self._case_response(request, complaint, bound={case_action.name: form})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{case_action.title} — {complaint.reference}",
            "complaint": complaint,
            "case_action": case_action,
            "form": form,
            "case_url": case_url,
            "stepup_needed": bool(stepup_error),
            "stepup_error": stepup_error,
        }
        if case_action.shows_decision:
            context.update(self._decision_context(complaint))
        return TemplateResponse(request, "admin/complaints/complaint/action.html", context)

    def _stepup_from_post(self, request: HttpRequest) -> str:
        """Check the one-time code posted with a step-up action whose code went stale: "" when
        it is accepted now, else what to tell the person."""
        token = request.POST.get("otp_token", "")
        if not token.strip():
            return str(STEPUP_STALE)
        result = stepup_check(
            user=request.user,
            token=token,
            session_key=request.session.session_key or "",
            purpose="admin",
        )
        if result is StepUpResult.OK:
            return ""
        return stepup_refusal(result, user=request.user)

    def _decision_context(self, complaint: Complaint) -> dict[str, Any]:
        """What an approver approves: each record with its drafted outcome and amount and its
        evidence, the compensation, the decision's text and the drafter's notes."""
        items = list(complaint.items.select_related("loan").order_by("pk"))
        evidence = {ev.loan.pk: ev for ev in evidence_for_loans(loans=[i.loan for i in items])}
        drafted = (
            complaint.events.filter(type=EventType.DRAFTED)
            .select_related("actor")
            .order_by("-at", "-pk")
            .first()
        )
        if drafted is not None and drafted.text == DECIDE.default_reason:
            drafted.text = ""  # no reason typed: the history's default, not the drafter's note
        return {
            "rows": [(i, evidence.get(i.loan_id)) for i in items],
            "upheld_total": sum(
                (i.loan.amount for i in items if i.outcome == ItemOutcome.UPHELD), Decimal(0)
            ),
            "compensation": getattr(complaint, "compensation", None),
            "drafted": drafted,
            "notes": list(complaint.notes.select_related("author").order_by("created_at")),
        }

    def _perform(
        self,
        request: HttpRequest,
        case_action: CaseAction,
        complaint: Complaint,
        form: Any,
        case_url: str,
    ) -> Any:
        """Run the action's service: the redirect to the case page, None when the form is to be
        shown again with errors, _STEPUP_NEEDED when the service asked for a fresh code."""
        try:
            case_action.perform(complaint, request.user, form.cleaned_data if form else {})
        except ApplicationError as exc:
            if exc.code == "stepup_required":
                return _STEPUP_NEEDED
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
        # The lookup step: ?find= lists matching customers (masked) and their accounts;
        # ?account=<number> (a pick) fills the form's account.
        term = search.search_term(request.GET.get("find"))
        number = request.POST.get("account_number") or request.GET.get("account") or ""
        chosen = _intake_account(number)
        initial = {"account_number": chosen.number} if chosen is not None else {}
        form = staff_forms.StaffIntakeForm(request.POST or None, initial=initial)
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
            "find": term.text,
            "matches": _intake_matches(term) if term else None,
            "match_limit": INTAKE_MATCHES,
            "chosen": chosen,
        }
        return TemplateResponse(request, "admin/complaints/complaint/intake.html", context)

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
    fields = ("dimension", "value", "partner_interface_link", "complaint_count", "window_start",
              "raised_at")  # fmt: skip
    readonly_fields = ("partner_interface_link",)

    @admin.display(description=gettext_lazy("In the partner-interface register"))
    def partner_interface_link(self, obj: IncidentAlert) -> str:
        """The interface's page (its figures, audits, suspension) for an alert about one."""
        from accounts.models import PartnerInterface

        from .enums import AlertDimension

        if obj.dimension != AlertDimension.PARTNER_INTERFACE:
            return "—"
        interface = PartnerInterface.objects.filter(code=obj.value).first()
        if interface is None:
            return _("Not in the register")
        return format_html(
            '<a data-testid="partner-interface-link" href="{}">{} ({})</a>',
            reverse("admin:accounts_partnerinterface_change", args=[interface.pk]),
            interface.code,
            interface.get_status_display(),
        )

    def get_queryset(self, request) -> QuerySet:
        return super().get_queryset(request).order_by("-raised_at")


# The conversation's pages (canned replies, the files as downloads): complaints/admin_conversation.py
from . import admin_conversation  # noqa: E402, F401
