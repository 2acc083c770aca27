"""The periodic SLA sweep of complaints (`manage.py sweep` and the beat task call it).

- reminders to the assignee 2 days before the decision deadline (once per deadline);
- overdue complaints escalated to managers (once per case and deadline);
- credit-report objections from disputes past their 20-day clock escalated to managers;
- review requests past their 30-day clock escalated to managers.
Set-based selection through the partial indexes on due_at; rows are locked one at a time.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.enums import CorrectionKind, CorrectionStatus
from accounts.models import CreditReportCorrection
from core import roles
from core.audit import save_with_history, system_actor

from . import clock
from .enums import OPEN_STATUSES, EventType, ReviewStatus
from .models import Complaint, VerificationRequest
from .services import _event, _notify_staff


def complaints_sweep(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    actor = system_actor("complaints-sweep")
    counts = {"reminders": 0, "escalations": 0, "objections": 0, "reviews": 0}
    base = Complaint.objects.filter(status__in=OPEN_STATUSES, paused_at__isnull=True)
    remind_ids = list(
        base.filter(
            assignee__isnull=False,
            due_at__gt=now,
            due_at__lte=now + clock.REMINDER_BEFORE,
        )
        .filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=F("due_at")))
        .values_list("pk", flat=True)[:1000]
    )
    for pk in remind_ids:
        counts["reminders"] += _remind(pk, actor=actor, now=now)
    overdue_ids = list(
        base.filter(due_at__lt=now)
        .filter(Q(escalated_for__isnull=True) | ~Q(escalated_for=F("due_at")))
        .values_list("pk", flat=True)[:1000]
    )
    for pk in overdue_ids:
        counts["escalations"] += _escalate(pk, actor=actor, now=now)
    overdue_objections = CreditReportCorrection.objects.filter(
        kind=CorrectionKind.OBJECTION,
        status__in=[CorrectionStatus.OPEN, CorrectionStatus.SENT],
        due_at__lt=now,
        origin__startswith="complaint:",
    ).values_list("pk", "origin", "due_at")[:1000]
    for pk, origin, due in overdue_objections:
        with transaction.atomic():
            sent = _notify_staff(
                "staff.objection_overdue",
                actor=actor,
                role=roles.MANAGER,
                obj=CreditReportCorrection.objects.get(pk=pk),
                key=due.isoformat(),
                origin=origin,
                due_at=timezone.localtime(due).strftime("%Y-%m-%d"),
            )
        counts["objections"] += 1 if sent else 0
    overdue_reviews = VerificationRequest.objects.filter(
        status=ReviewStatus.SUBMITTED, due_at__lt=now
    ).select_related("complaint")[:1000]
    for review in overdue_reviews:
        with transaction.atomic():
            # The outbox's idempotency key (event, recipient, object, key) makes this once.
            sent = _notify_staff(
                "staff.complaint_escalation",
                actor=actor,
                role=roles.MANAGER,
                obj=review,
                key=f"review:{review.due_at.isoformat()}",
                reference=review.complaint.reference,
                due_at=timezone.localtime(review.due_at).strftime("%Y-%m-%d %H:%M"),
                assignee="-",
            )
        counts["reviews"] += 1 if sent else 0
    return counts


@transaction.atomic
def _remind(pk: int, *, actor, now: datetime) -> int:
    c = Complaint.objects.select_for_update(of=("self",)).select_related("assignee").get(pk=pk)
    if c.reminded_for == c.due_at or c.assignee is None or c.status not in OPEN_STATUSES:
        return 0
    c.reminded_for = c.due_at
    save_with_history(c, actor=actor, reason="reminder", update_fields=["reminded_for"])
    _event(c, EventType.REMINDER, actor=actor, new=c.due_at.isoformat())
    _notify_staff(
        "staff.complaint_reminder",
        actor=actor,
        user=c.assignee,
        obj=c,
        key=c.due_at.isoformat(),
        reference=c.reference,
        due_at=timezone.localtime(c.due_at).strftime("%Y-%m-%d %H:%M"),
    )
    return 1


@transaction.atomic
def _escalate(pk: int, *, actor, now: datetime) -> int:
    c = Complaint.objects.select_for_update().get(pk=pk)
    if c.escalated_for == c.due_at or c.status not in OPEN_STATUSES:
        return 0
    c.escalated_for = c.due_at
    save_with_history(c, actor=actor, reason="escalation", update_fields=["escalated_for"])
    _event(c, EventType.ESCALATED, actor=actor, new=c.due_at.isoformat())
    _notify_staff(
        "staff.complaint_escalation",
        actor=actor,
        role=roles.MANAGER,
        obj=c,
        key=c.due_at.isoformat(),
        reference=c.reference,
        due_at=timezone.localtime(c.due_at).strftime("%Y-%m-%d %H:%M"),
        assignee=c.assignee.get_username() if c.assignee_id else "-",
    )
    return 1
