"""The customer's request for a review (核查) and its decision."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock, events
from ..enums import EventType, ReviewOutcome, ReviewStatus, Status
from ..locks import complaint_for_update, review_for_update
from ..models import Complaint, VerificationRequest
from .common import complaint_staff_with_stake, notify_customer, require_perm, transition

REVIEW_REQUESTED_REASON = gettext_noop("Review requested")


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
    save_with_history(review, actor=actor, reason=REVIEW_REQUESTED_REASON)
    old_status = transition(complaint, Status.UNDER_REVIEW)
    save_with_history(
        complaint, actor=actor, reason=REVIEW_REQUESTED_REASON, update_fields=["status"]
    )
    events.review_requested_event(
        complaint=complaint, actor=actor, review=review, from_status=old_status
    )
    notify_customer(
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
    """A manager who took no part in the decision answers the review; the case is decided
    again (the review's outcome says whether the decision changed)."""
    require_perm(actor, "complaints.decide_review")
    review = review_for_update(review_id=review_id)
    complaint = review.complaint
    if review.status != ReviewStatus.SUBMITTED:
        raise ApplicationError(_("This review is already decided."), code="already_decided")
    if actor.pk in review_staff_excluded(complaint=complaint):
        raise ApplicationError(
            _("You took part in the decision and cannot handle its review."),
            code="conflict_of_interest",
            status=403,
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
    old_status = transition(complaint, Status.DECIDED)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status"])
    events.review_decided_event(
        complaint=complaint, actor=actor, review=review, from_status=old_status
    )
    notify_customer(
        complaint,
        "complaint.review_decided",
        actor=actor,
        outcome=str(ReviewOutcome(outcome).label),
        decision_text=review.decision_text,
    )
    return review
