"""Reads of the complaints domain: access-scoped querysets and the staff queues.

Each queue has a partial index that serves its filter and its sort (see Complaint.Meta):
unassigned -> complaint_unassigned_idx, mine -> complaint_mine_idx, due soon / overdue ->
complaint_open_due_idx. Lists are keyset- or next/previous-paged: no COUNT(*).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Cast
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from core.clock import window_end_from_delivery
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.selectors import notice_delivered_at

from . import clock
from .enums import OPEN_STATUSES
from .models import CaseEvent, Complaint, DisputedItem

# The decision notice the review window (核查) is counted from.
DECISION_NOTICE = "complaint.decided"

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


def with_decision_delivered_at(qs: QuerySet[Complaint]) -> QuerySet[Complaint]:
    """Annotate `decision_delivered_at`, one subquery for a whole list: the same rule as
    notices.selectors.notice_delivered_at (earliest recorded delivery on any channel; failed
    or unknown never count)."""
    first = (
        Notice.objects.filter(
            event=DECISION_NOTICE,
            content_type=ContentType.objects.get_for_model(Complaint, for_concrete_model=False),
            object_id=Cast(OuterRef("pk"), output_field=CharField()),
            status=NoticeStatus.SENT,
            sent_at__isnull=False,
        )
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    return qs.annotate(decision_delivered_at=Subquery(first))


def complaint_decision_delivered_at(complaint: Complaint) -> datetime | None:
    """When the decision notice reached the customer (the annotation when there is one)."""
    if complaint.decided_at is None:
        return None
    if hasattr(complaint, "decision_delivered_at"):
        return complaint.decision_delivered_at
    return notice_delivered_at(event=DECISION_NOTICE, obj=complaint)


def complaint_review_until(complaint: Complaint) -> datetime | None:
    """The end of the right to a review: the end of day 30 after the decision notice's delivery
    (Asia/Shanghai, counted as for appeals), whatever the case's status. None before a decision
    or while its notice is not delivered (the window has not started)."""
    delivered = complaint_decision_delivered_at(complaint)
    if delivered is None:
        return None
    return window_end_from_delivery(delivered, clock.REVIEW_WINDOW_DAYS)


def complaints_for_user_detailed(*, user: User) -> QuerySet[Complaint]:
    return with_decision_delivered_at(_with_detail(complaints_for_user(user=user)))


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


def complaint_notices(*, complaint: Complaint, limit: int = 100) -> list[Notice]:
    """The notices sent about the case (to the customer and to staff), oldest first: the case
    page's list (notice_object_idx). The content type comes from Django's cache."""
    content_type = ContentType.objects.get_for_model(Complaint)
    rows = Notice.objects.filter(content_type=content_type, object_id=str(complaint.pk)).defer(
        "body", "sealed_body", "last_error"
    )
    return sorted(rows.order_by("-created_at", "-pk")[:limit], key=lambda n: (n.created_at, n.pk))


def complaints_about_account(*, account_id: int, limit: int = 20) -> list[Complaint]:
    """The account's complaints, newest first (listed on other apps' pages via accounts.hooks)."""
    return list(Complaint.objects.filter(account_id=account_id).order_by("-pk")[:limit])
