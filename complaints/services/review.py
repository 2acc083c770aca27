"""The customer's request for a review (核查) and its decision."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock
from ..enums import (
    EventType,
    ReviewOutcome,
    ReviewStatus,
    Status,
)
from ..models import (
    Complaint,
    VerificationRequest,
)
from .common import (
    _event,
    _notify_customer,
    _require_perm,
    _transition,
    complaint_for_update,
    complaint_staff_with_stake,
)


@transaction.atomic
def review_request(
    *, complaint_id: int, actor: User, grounds: str, now: datetime | None = None
) -> VerificationRequest:
    """The customer asks for a review within 30 days of the decision."""
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.customer.user_id != actor.pk:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404)
    if not grounds.strip():
        raise ApplicationError(
            _("Tell us why."), code="invalid", status=400, fields={"grounds": [_("Required.")]}
        )
    now = now or timezone.now()
    if complaint.status != Status.DECIDED or complaint.decided_at is None:
        raise ApplicationError(
            _("A review can be asked for once the complaint is decided."), code="not_decided"
        )
    if not clock.within_window(complaint.decided_at, clock.REVIEW_WINDOW_DAYS, now=now):
        raise ApplicationError(
            _("The 30 days for asking for a review have passed."), code="review_window_closed"
        )
    if complaint.reviews.exists():
        raise ApplicationError(_("A review was already asked for."), code="review_exists")
    review = VerificationRequest(
        complaint=complaint,
        grounds=grounds.strip(),
        received_at=now,
        due_at=clock.add_calendar_days(now, clock.REVIEW_DECISION_DAYS),
    )
    save_with_history(review, actor=actor, reason="review requested")
    old = _transition(complaint, Status.UNDER_REVIEW)
    save_with_history(complaint, actor=actor, reason="review requested", update_fields=["status"])
    _event(
        complaint,
        EventType.REVIEW_REQUESTED,
        actor=actor,
        old=old,
        new=complaint.status,
        text=grounds.strip(),
        visible=True,
    )
    _notify_customer(
        complaint,
        "complaint.review_received",
        actor=actor,
        review_due_at=timezone.localtime(review.due_at).strftime("%Y-%m-%d"),
    )
    return review


def review_staff_excluded(*, complaint: Complaint) -> set[int]:
    """Staff who took part in the decision cannot handle its review."""
    ids = {complaint.assignee_id, complaint.drafted_by_id, complaint.approved_by_id}
    ids |= set(
        complaint.events.filter(
            type__in=[EventType.DRAFTED, EventType.APPROVED, EventType.RETURNED]
        ).values_list("actor_id", flat=True)
    )
    ids |= complaint_staff_with_stake(complaint=complaint)
    ids.discard(None)
    return ids


@transaction.atomic
def review_decide(
    *, review_id: int, actor: User, reason: str, outcome: str, decision_text: str
) -> VerificationRequest:
    _require_perm(actor, "complaints.decide_review")
    review = VerificationRequest.objects.select_for_update().get(pk=review_id)
    complaint = complaint_for_update(complaint_id=review.complaint_id)
    if review.status != ReviewStatus.SUBMITTED:
        raise ApplicationError(_("This review is already decided."), code="already_decided")
    if actor.pk in review_staff_excluded(complaint=complaint):
        raise ApplicationError(
            _("You took part in the decision and cannot handle its review."),
            code="conflict_of_interest",
        )
    if outcome not in ReviewOutcome.values or not decision_text.strip():
        raise ApplicationError(
            _("The review decision is not complete."),
            code="invalid",
            status=400,
            fields={"decision_text": [_("Required.")]},
        )
    review.status = ReviewStatus.DECIDED
    review.outcome = outcome
    review.decision_text = decision_text.strip()
    review.handler = actor
    review.decided_at = timezone.now()
    save_with_history(
        review,
        actor=actor,
        reason=reason,
        update_fields=["status", "outcome", "decision_text", "handler", "decided_at"],
    )
    old = _transition(complaint, Status.DECIDED)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status"])
    _event(
        complaint,
        EventType.REVIEW_DECIDED,
        actor=actor,
        old=old,
        new=outcome,
        text=review.decision_text,
        visible=True,
    )
    _notify_customer(
        complaint,
        "complaint.review_decided",
        actor=actor,
        outcome=str(ReviewOutcome(outcome).label),
        decision_text=review.decision_text,
    )
    return review
