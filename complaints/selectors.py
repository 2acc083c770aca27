"""Reads of the complaints domain: access-scoped querysets and the staff queues.

Each queue has a partial index that serves its filter and its sort (see Complaint.Meta):
unassigned -> complaint_unassigned_idx, mine -> complaint_mine_idx, due soon / overdue ->
complaint_open_due_idx. Lists are keyset- or next/previous-paged: no COUNT(*).
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User

from . import clock
from .enums import OPEN_STATUSES
from .models import CaseEvent, Complaint, DisputedItem

QUEUES = ("unassigned", "mine", "due_soon", "overdue", "open", "all")


def complaint_queue(*, queue: str, user: User, now: datetime | None = None) -> QuerySet[Complaint]:
    now = now or timezone.now()
    qs = Complaint.objects.select_related("customer", "account", "assignee")
    open_qs = qs.filter(status__in=OPEN_STATUSES)
    if queue == "unassigned":
        qs = open_qs.filter(assignee__isnull=True)
    elif queue == "mine":
        qs = open_qs.filter(assignee=user)
    elif queue == "due_soon":
        qs = open_qs.filter(
            paused_at__isnull=True, due_at__gte=now, due_at__lte=now + clock.REMINDER_BEFORE
        )
    elif queue == "overdue":
        qs = open_qs.filter(paused_at__isnull=True, due_at__lt=now)
    elif queue == "open":
        qs = open_qs
    else:
        return qs.order_by("-received_at", "-id")
    return qs.order_by("due_at", "id")


def complaints_for_user(*, user: User) -> QuerySet[Complaint]:
    """The caller's own complaints, newest first (complaint_customer_idx)."""
    if not user.is_authenticated or user.is_staff:
        return Complaint.objects.none()
    return Complaint.objects.filter(customer__user=user).order_by("-received_at", "-id")


def _with_detail(qs: QuerySet[Complaint]) -> QuerySet[Complaint]:
    return qs.prefetch_related(
        Prefetch("items", queryset=DisputedItem.objects.select_related("loan").order_by("pk")),
        Prefetch(
            "events",
            queryset=CaseEvent.objects.filter(customer_visible=True)
            .select_related("loan")
            .order_by("at", "pk"),
            to_attr="visible_events",
        ),
        "reviews",
    )


def complaints_for_user_detailed(*, user: User) -> QuerySet[Complaint]:
    return _with_detail(complaints_for_user(user=user))


def complaint_for_user(*, user: User, reference: str) -> Complaint:
    """One of the caller's own complaints, or 404."""
    try:
        return complaints_for_user_detailed(user=user).get(reference=reference)
    except Complaint.DoesNotExist as exc:
        raise Http404 from exc


def complaint_timeline(*, complaint: Complaint) -> QuerySet[CaseEvent]:
    """The staff timeline: every event, oldest first, with what `CaseEvent.change` reads."""
    return (
        CaseEvent.objects.filter(complaint=complaint)
        .select_related("actor", "assignee", "previous_assignee", "loan")
        .order_by("at", "pk")
    )


def complaints_about_account(*, account_id: int, limit: int = 20) -> list[Complaint]:
    """The account's complaints, newest first (listed on other apps' pages via accounts.hooks)."""
    return list(Complaint.objects.filter(account_id=account_id).order_by("-pk")[:limit])
