"""The periodic SLA sweep of complaints (`manage.py sweep` and the beat task call it).

- reminders to the assignee 2 days before the decision deadline (once per deadline), and to
  the handler of a review request (managers while nobody handles it) 2 days before its own;
- overdue complaints escalated to managers (once per case and deadline);
- credit-report objections from disputes not settled by their 20-day clock escalated to
  managers, with where their messages to the credit bureau stand (an objection is settled
  only once the bureau acknowledged its outcome: a decided dispute whose outcome failed or is
  unknown escalates too);
- review requests past their 30-day clock escalated to managers.
Set-based selection through the partial indexes on due_at; rows are locked one at a time.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_noop

from accounts.enums import CorrectionKind, CorrectionStatus
from accounts.models import BureauSubmission, CreditReportCorrection, User
from core import roles
from core.audit import save_with_history, system_actor

from . import clock, events
from .enums import OPEN_STATUSES, ReviewStatus
from .locks import complaint_for_update, review_for_update
from .models import Complaint, VerificationRequest
from .services.common import notify_staff

REMINDER_REASON = gettext_noop("Reminder sent")
ESCALATION_REASON = gettext_noop("Escalated to managers")


# Each pass handles at most this many rows a run; the next run (beat) takes the rest.
BATCH = 1000


def complaints_sweep(*, now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    actor = system_actor("complaints-sweep")
    return {
        "reminders": _reminders(actor=actor, now=now),
        "review_reminders": _review_reminders(actor=actor, now=now),
        "escalations": _escalations(actor=actor, now=now),
        "objections": _objections_overdue(actor=actor, now=now),
        "reviews": _reviews_overdue(actor=actor, now=now),
    }


def _running() -> QuerySet[Complaint]:
    return Complaint.objects.filter(status__in=OPEN_STATUSES, paused_at__isnull=True)


def _reminders(*, actor: User, now: datetime) -> int:
    ids = list(
        _running()
        .filter(assignee__isnull=False, due_at__gt=now, due_at__lte=now + clock.REMINDER_BEFORE)
        .filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=F("due_at")))
        .values_list("pk", flat=True)[:BATCH]
    )
    return sum(_remind(pk, actor=actor, now=now) for pk in ids)


def _escalations(*, actor: User, now: datetime) -> int:
    ids = list(
        _running()
        .filter(due_at__lt=now)
        .filter(Q(escalated_for__isnull=True) | ~Q(escalated_for=F("due_at")))
        .values_list("pk", flat=True)[:BATCH]
    )
    return sum(_escalate(pk, actor=actor, now=now) for pk in ids)


def _objections_overdue(*, actor: User, now: datetime) -> int:
    overdue = CreditReportCorrection.objects.filter(
        kind=CorrectionKind.OBJECTION,
        status__in=[CorrectionStatus.OPEN, CorrectionStatus.SENT],
        due_at__lt=now,
        origin__startswith="complaint:",
    ).order_by("pk")[:BATCH]
    objections = list(overdue)
    bureau: dict[int, list[str]] = {}
    for sub in BureauSubmission.objects.filter(
        correction_id__in=[o.pk for o in objections]
    ).order_by("pk"):
        bureau.setdefault(sub.correction_id, []).append(_bureau_line(sub))
    count = 0
    for objection in objections:
        with transaction.atomic():
            sent = notify_staff(
                "staff.objection_overdue",
                actor=actor,
                role=roles.MANAGER,
                obj=objection,
                key=objection.due_at.isoformat(),
                origin=objection.origin,
                due_at=timezone.localtime(objection.due_at).strftime("%Y-%m-%d"),
                bureau="; ".join(bureau.get(objection.pk, [])) or "-",
            )
        count += 1 if sent else 0
    return count


def _bureau_line(sub: BureauSubmission) -> str:
    """One message's state for the escalation: kind, status, the bureau's reference."""
    line = f"{sub.message} {sub.status}"
    if sub.bureau_reference:
        line += f" ({sub.bureau_reference})"
    return line


def _review_reminders(*, actor: User, now: datetime) -> int:
    """Review requests due within 2 days whose deadline was not yet reminded about."""
    ids = list(
        VerificationRequest.objects.filter(
            status=ReviewStatus.SUBMITTED, due_at__gt=now, due_at__lte=now + clock.REMINDER_BEFORE
        )
        .filter(Q(reminded_for__isnull=True) | ~Q(reminded_for=F("due_at")))
        .order_by("due_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    return sum(_review_remind(pk, actor=actor) for pk in ids)


@transaction.atomic
def _review_remind(pk: int, *, actor: User) -> int:
    review = review_for_update(review_id=pk)
    if review.status != ReviewStatus.SUBMITTED or review.reminded_for == review.due_at:
        return 0
    review.reminded_for = review.due_at
    save_with_history(review, actor=actor, reason=REMINDER_REASON, update_fields=["reminded_for"])
    events.review_reminder_event(review=review, actor=actor)
    target = {"user": review.handler} if review.handler_id else {"role": roles.MANAGER}
    notify_staff(
        "staff.review_reminder",
        actor=actor,
        obj=review,
        key=review.due_at.isoformat(),
        reference=review.complaint.reference,
        due_at=timezone.localtime(review.due_at).strftime("%Y-%m-%d %H:%M"),
        **target,
    )
    return 1


def _reviews_overdue(*, actor: User, now: datetime) -> int:
    overdue = VerificationRequest.objects.filter(
        status=ReviewStatus.SUBMITTED, due_at__lt=now
    ).select_related("complaint")[:BATCH]
    count = 0
    for review in overdue:
        with transaction.atomic():
            # The outbox's idempotency key (event, recipient, object, key) makes this once.
            sent = notify_staff(
                "staff.complaint_escalation",
                actor=actor,
                role=roles.MANAGER,
                obj=review,
                key=f"review:{review.due_at.isoformat()}",
                reference=review.complaint.reference,
                due_at=timezone.localtime(review.due_at).strftime("%Y-%m-%d %H:%M"),
                assignee="-",
            )
        count += 1 if sent else 0
    return count


@transaction.atomic
def _remind(pk: int, *, actor: User, now: datetime) -> int:
    c = complaint_for_update(complaint_id=pk, with_assignee=True)
    if c.reminded_for == c.due_at or c.assignee is None or c.status not in OPEN_STATUSES:
        return 0
    c.reminded_for = c.due_at
    save_with_history(c, actor=actor, reason=REMINDER_REASON, update_fields=["reminded_for"])
    events.complaint_reminder_event(complaint=c, actor=actor, due_at=c.due_at)
    notify_staff(
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
def _escalate(pk: int, *, actor: User, now: datetime) -> int:
    c = complaint_for_update(complaint_id=pk, with_assignee=True)
    if c.escalated_for == c.due_at or c.status not in OPEN_STATUSES:
        return 0
    c.escalated_for = c.due_at
    save_with_history(c, actor=actor, reason=ESCALATION_REASON, update_fields=["escalated_for"])
    events.complaint_escalated_event(complaint=c, actor=actor, due_at=c.due_at)
    notify_staff(
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
