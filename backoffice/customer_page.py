"""The stories' sections of the customer page (accounts/customer_page.py): complaints, closures
and appeals. They sit here, in the wiring layer, because accounts may not import the stories and
the stories do not import each other; `BackofficeConfig.ready()` registers them. One query per
section (a customer's rows, through the indexes on customer / account), whatever they hold.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.customer_page import (
    Cell,
    Section,
    change_urls,
    customer_page_section,
    labels,
    when,
    with_more,
)
from accounts.models import Customer
from closures.enums import AppealStatus, ClosureReason, ClosureSource, ClosureStatus
from closures.models import Appeal, ClosureRequest
from complaints.enums import Category, Outcome, Status
from complaints.models import Complaint

# A customer's complaints all show, up to this many (the rest behind the "more" link).
COMPLAINTS_SHOWN = 50
CLOSURES_SHOWN = 20


def complaints_section(*, customer: Customer, user: Any) -> Section | None:
    if not user.has_perm("complaints.view_complaint"):
        return None
    complaints = (
        Complaint.objects.filter(customer_id=customer.pk)
        .order_by("-received_at", "-pk")
        .values_list(
            "pk",
            "reference",
            "received_at",
            "category",
            "account__number",
            "status",
            "outcome",
            "due_at",
            "repeat_count",
        )[: COMPLAINTS_SHOWN + 1]
    )
    category, status, outcome = labels(Category), labels(Status), labels(Outcome)
    url = change_urls("complaints_complaint")
    rows = []
    for pk, reference, received_at, cat, number, st, out, due_at, repeats in complaints:
        repeat = (
            ngettext("Repeat (%(count)d earlier)", "Repeat (%(count)d earlier)", repeats)
            % {"count": repeats}
            if repeats
            else ""
        )
        rows.append(
            [
                Cell(reference, url(pk)),
                Cell(when(received_at)),
                Cell(category.get(cat, cat)),
                Cell(f"**** {number[-4:]}" if number else "—"),  # CreditAccount.number_masked
                Cell(status.get(st, st)),
                Cell(outcome.get(out, out) or "—"),
                Cell(when(due_at)),
                Cell(repeat, badge=bool(repeat)),
            ]
        )
    section = Section(
        key="complaints",
        title=_("Complaints"),
        columns=[
            _("Reference"),
            _("Received on"),
            _("Category"),
            _("Account"),
            _("Status"),
            _("Outcome"),
            _("Due"),
            _("Repeat"),
        ],
        empty=_("No complaints."),
    )
    more = reverse("admin:complaints_complaint_changelist") + f"?customer__id__exact={customer.pk}"
    return with_more(section, rows, COMPLAINTS_SHOWN, more, _("All complaints"))


def closures_section(*, customer: Customer, user: Any) -> Section | None:
    if not user.has_perm("closures.view_closurerequest"):
        return None
    closures = (
        ClosureRequest.objects.filter(account__customer_id=customer.pk)
        .select_related("account")
        .only(
            "pk",
            "reason",
            "status",
            "source",
            "created_at",
            "effective_at",
            "appeal_deadline",
            "account__number",
        )
        .order_by("-created_at", "-pk")[: CLOSURES_SHOWN + 1]
    )
    reason, status = labels(ClosureReason), labels(ClosureStatus)
    source, url = labels(ClosureSource), change_urls("closures_closurerequest")
    rows = [
        [
            Cell(
                reason.get(closure.reason, closure.reason),
                url(closure.pk),
            ),
            Cell(closure.account.number_masked),
            Cell(status.get(closure.status, closure.status)),
            Cell(source.get(closure.source, closure.source)),
            Cell(when(closure.created_at)),
            Cell(when(closure.effective_at)),
            Cell(when(closure.appeal_deadline)),
        ]
        for closure in closures
    ]
    section = Section(
        key="closures",
        title=_("Closures"),
        columns=[
            _("Reason"),
            _("Account"),
            _("Status"),
            _("Source"),
            _("Created on"),
            _("Takes effect"),
            _("Appeal by"),
        ],
        empty=_("No closures."),
    )
    # (A customer with more closures than this is not expected: the rest are on the accounts.)
    return with_more(section, rows, CLOSURES_SHOWN, "", _("Only the latest are shown."))


def appeals_section(*, customer: Customer, user: Any) -> Section | None:
    if not user.has_perm("closures.view_appeal"):
        return None
    appeals = (
        Appeal.objects.filter(closure__account__customer_id=customer.pk)
        .select_related("closure__account")
        .only(
            "pk",
            "reference",
            "status",
            "filed_at",
            "due_at",
            "decided_at",
            "closure__reason",
            "closure__account__number",
        )
        .order_by("-filed_at", "-pk")[: CLOSURES_SHOWN + 1]
    )
    reason, status = labels(ClosureReason), labels(AppealStatus)
    url = change_urls("closures_appeal")
    rows = [
        [
            Cell(appeal.reference, url(appeal.pk)),
            Cell(appeal.closure.account.number_masked),
            Cell(reason.get(appeal.closure.reason, appeal.closure.reason)),
            Cell(when(appeal.filed_at)),
            Cell(status.get(appeal.status, appeal.status)),
            Cell(when(appeal.due_at)),
            Cell(when(appeal.decided_at)),
        ]
        for appeal in appeals
    ]
    section = Section(
        key="appeals",
        title=_("Appeals"),
        columns=[
            _("Reference"),
            _("Account"),
            _("Closure reason"),
            _("Filed"),
            _("Status"),
            _("Decide by"),
            _("Decided on"),
        ],
        empty=_("No appeals."),
    )
    return with_more(section, rows, CLOSURES_SHOWN, "", _("Only the latest are shown."))


def customer_page_register() -> None:
    customer_page_section(30, "complaints", complaints_section)
    customer_page_section(40, "closures", closures_section)
    customer_page_section(50, "appeals", appeals_section)
