"""Repeat complaints (PRODUCT.md "Complaints and their clocks"): a new complaint from the same
customer, on the same account and in the same category as complaints received within the last
90 days, is linked to the latest of them (`Complaint.repeat_of`) and carries how many there are
(`Complaint.repeat_count`). Written once, by intake (complaints/services/intake.py) under the
account's row lock, so two complaints filed at once on one account see each other in order.

The queue's badge reads only the stored fields (no per-row query); the case page lists the
earlier complaints with one query (`complaints_earlier`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib import admin
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy, ngettext

from accounts.customer_page import BADGE_STYLE  # one look for the flag, queue and customer page

from .models import Complaint

REPEAT_WINDOW = timedelta(days=90)
# The case page lists at most this many earlier complaints (the customer page lists them all).
EARLIER_SHOWN = 10


def _earlier(
    *, customer_id: int, account_id: int, category: str, received_at: datetime, pk: int | None
) -> QuerySet[Complaint]:
    """Complaints of this customer, account and category filed before this one (`pk`; None
    at intake: every one on record) and received at most 90 days before it, newest first
    (served by complaint_customer_idx: customer, -received_at). Filing order, not the receipt
    times: a complaint waiting for the account's lock took its receipt time before the one
    that held the lock committed, and must still see it."""
    qs = Complaint.objects.filter(
        customer_id=customer_id,
        account_id=account_id,
        category=category,
        received_at__gte=received_at - REPEAT_WINDOW,
    )
    if pk is not None:
        qs = qs.filter(pk__lt=pk)
    return qs.order_by("-received_at", "-pk")


def complaint_repeat_mark(complaint: Complaint) -> None:
    """Set `repeat_of` and `repeat_count` on a complaint about to be saved (intake): the caller
    saves it with history, so the link is recorded with who filed it and why."""
    if complaint.account_id is None:
        return  # no account named: nothing to compare with
    earlier = list(
        _earlier(
            customer_id=complaint.customer_id,
            account_id=complaint.account_id,
            category=complaint.category,
            received_at=complaint.received_at,
            pk=complaint.pk,
        ).values_list("pk", flat=True)
    )
    complaint.repeat_of_id = earlier[0] if earlier else None
    complaint.repeat_count = len(earlier)


def complaints_earlier(complaint: Complaint, *, limit: int = EARLIER_SHOWN) -> list[Complaint]:
    """The earlier complaints a repeat is linked to (one query; none for a first complaint)."""
    if not complaint.repeat_count or complaint.account_id is None:
        return []
    return list(
        _earlier(
            customer_id=complaint.customer_id,
            account_id=complaint.account_id,
            category=complaint.category,
            received_at=complaint.received_at,
            pk=complaint.pk,
        ).only("pk", "reference", "status", "outcome", "category", "received_at")[:limit]
    )


@admin.display(description=gettext_lazy("Repeat"))
def repeat_badge(complaint: Complaint) -> str:
    """The queue's column: the stored count and a link to the latest earlier complaint."""
    if not complaint.repeat_count:
        return ""
    label = ngettext(
        "Repeat (%(count)d earlier)", "Repeat (%(count)d earlier)", complaint.repeat_count
    ) % {"count": complaint.repeat_count}
    if complaint.repeat_of_id is None:
        return format_html('<span class="repeat-badge" style="{}">{}</span>', BADGE_STYLE, label)
    return format_html(
        '<a class="repeat-badge" style="{}" href="{}">{}</a>',
        BADGE_STYLE,
        reverse("admin:complaints_complaint_change", args=[complaint.repeat_of_id]),
        label,
    )
