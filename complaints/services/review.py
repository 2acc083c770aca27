"""The customer's request for a review (核查) and its decision (PRODUCT.md "Complaints and
their clocks").

- The right lasts 30 days after the delivery of the decision notice, counted as for appeals
  (complaints.selectors.complaint_review_until: notices' delivery rule, core.clock's window),
  whatever the case's status: a request on a closed case reopens it (`closed` ->
  `under_review`, with its event and history). One review per decision: no review of a review.
- Whoever took part in the decision (drafter, approver, assignee) or has a stake in the
  account takes no action on its review.
- An upheld review changes the decision record by record, only in the customer's favour
  (a rejected record becomes upheld; a complaint without records gets a better outcome), and
  applies the change in the same transaction through the ledger (the loan reversed, what was
  repaid on it booked back as a refund entry, a credit-report correction); the customer gets a
  new decision notice (`complaint.review_decided`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock, events
from ..enums import EventType, ItemOutcome, Outcome, ReviewOutcome, ReviewStatus, Status
from ..locks import complaint_for_update
from ..models import Complaint, DisputedItem, VerificationRequest
from ..selectors import complaint_review_until
from .common import complaint_staff_with_stake, notify_customer, require_perm, transition
from .decision import ITEM_APPLIED_FIELDS, case_for_update, item_lines, items_outcome, items_reverse

REVIEW_REQUESTED_REASON = gettext_noop("Review requested")
# From the customer's point of view, worst to best: an upheld review only moves up this list.
OUTCOME_RANK = {Outcome.REJECTED: 0, Outcome.PARTIALLY_UPHELD: 1, Outcome.UPHELD: 2}
REVIEWABLE_STATUSES = (Status.DECIDED, Status.CLOSED)


def review_until(complaint: Complaint) -> datetime | None:
    """The end of the complaint's review window (None before its decision notice arrived)."""
    return complaint_review_until(complaint)


def review_can_request(complaint: Complaint, *, now: datetime | None = None) -> bool:
    """What the portal's review button and the API's review_until follow: decided or closed,
    no review yet, and the window not over."""
    if complaint.status not in REVIEWABLE_STATUSES or complaint.decided_at is None:
        return False
    if complaint.reviews.all():
        return False
    until = complaint_review_until(complaint)
    return until is None or (now or timezone.now()) <= until


@transaction.atomic
def review_request(
    *, complaint_id: int, actor: User, grounds: str, now: datetime | None = None
) -> VerificationRequest:
    """The customer asks for a review within 30 days of the decision notice's delivery; a
    closed case is reopened."""
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.customer.user_id != actor.pk:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404)
    if not grounds.strip():
        raise ApplicationError(
            _("Tell us why."), code="invalid", status=400, fields={"grounds": [_("Required.")]}
        )
    now = now or timezone.now()
    if complaint.reviews.exists():
        raise ApplicationError(_("A review was already asked for."), code="review_exists")
    if complaint.status not in REVIEWABLE_STATUSES or complaint.decided_at is None:
        raise ApplicationError(
            _("A review can be asked for once the complaint is decided."), code="not_decided"
        )
    until = complaint_review_until(complaint)
    if until is not None and now > until:
        raise ApplicationError(
            _("The 30 days for asking for a review have passed."), code="review_window_closed"
        )
    review = VerificationRequest(
        complaint=complaint,
        grounds=grounds.strip(),
        received_at=now,
        due_at=clock.add_calendar_days(now, clock.REVIEW_DECISION_DAYS),
    )
    save_with_history(review, actor=actor, reason=REVIEW_REQUESTED_REASON)
    old_status = transition(complaint, Status.UNDER_REVIEW)
    complaint.closed_at = None  # reopened: it closes again once the review is answered
    save_with_history(
        complaint,
        actor=actor,
        reason=REVIEW_REQUESTED_REASON,
        update_fields=["status", "closed_at"],
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


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        _("The review decision is not complete."),
        code="invalid",
        status=400,
        fields={field: [message]},
    )


def _changes_check(
    complaint: Complaint,
    items: list[DisputedItem],
    *,
    outcome: str,
    upheld_item_ids: set[int],
    new_outcome: str | None,
) -> list[DisputedItem]:
    """The records an upheld review turns in the customer's favour (checked: only rejected
    records, only a better outcome); a dismissed review changes nothing."""
    if outcome == ReviewOutcome.DISMISSED:
        if upheld_item_ids or new_outcome:
            raise _invalid("outcome", _("A review that confirms the decision changes nothing."))
        return []
    by_id = {i.pk: i for i in items}
    if upheld_item_ids - set(by_id):
        raise _invalid("items", _("Unknown disputed record."))
    if any(by_id[pk].outcome != ItemOutcome.REJECTED for pk in upheld_item_ids):
        raise _invalid("items", _("A review changes a decision only in the customer's favour."))
    if items:
        if not upheld_item_ids:
            raise _invalid("items", _("Choose the records the review upholds."))
        return [i for i in items if i.pk in upheld_item_ids]
    if OUTCOME_RANK.get(new_outcome, -1) <= OUTCOME_RANK.get(complaint.outcome, -1):
        raise _invalid(
            "new_outcome", _("A review changes a decision only in the customer's favour.")
        )
    return []


@transaction.atomic
def review_decide(
    *,
    review_id: int,
    actor: User,
    reason: str,
    outcome: str,
    decision_text: str,
    upheld_item_ids: Iterable[int] = (),
    new_outcome: str | None = None,
) -> VerificationRequest:
    """A manager who took no part in the decision answers the review. `dismissed` confirms the
    decision; `upheld` changes it in the customer's favour (`upheld_item_ids`: rejected records
    now upheld; `new_outcome` for a complaint without records), applied at once through the
    ledger. The case is decided again and the customer gets the new decision notice."""
    require_perm(actor, "complaints.decide_review")
    complaint_id = (
        VerificationRequest.objects.filter(pk=review_id).values_list("complaint_id", flat=True)
    ).first()
    if complaint_id is None:
        raise ApplicationError(_("No open review."), code="no_review", status=404)
    case = case_for_update(complaint_id=complaint_id)
    complaint = case.complaint
    review = VerificationRequest.objects.select_for_update(no_key=True).get(pk=review_id)
    review.complaint = complaint
    if review.status != ReviewStatus.SUBMITTED:
        raise ApplicationError(_("This review is already decided."), code="already_decided")
    if actor.pk in review_staff_excluded(complaint=complaint):
        raise ApplicationError(
            _("You took part in the decision and cannot handle its review."),
            code="conflict_of_interest",
            status=403,
        )
    if outcome not in ReviewOutcome.values:
        raise _invalid("outcome", _("Choose the outcome."))
    if not decision_text.strip():
        raise _invalid("decision_text", _("Required."))
    changed = _changes_check(
        complaint,
        case.items,
        outcome=outcome,
        upheld_item_ids=set(upheld_item_ids),
        new_outcome=new_outcome,
    )
    now = timezone.now()
    review.status = ReviewStatus.DECIDED
    review.outcome = outcome
    review.decision_text = decision_text.strip()
    review.handler = actor
    review.decided_at = now
    save_with_history(
        review,
        actor=actor,
        reason=reason,
        update_fields=["status", "outcome", "decision_text", "handler", "decided_at"],
    )
    old_outcome = complaint.outcome
    if changed:
        for item in changed:
            item.outcome = ItemOutcome.UPHELD
            item.reasons = review.decision_text
        items_reverse(
            case,
            changed,
            actor=actor,
            reason=reason,
            now=now,
            correction_due_at=clock.add_calendar_days(review.received_at, clock.OBJECTION_DAYS),
        )
        for item in changed:
            item.applied_at = now
            save_with_history(
                item,
                actor=actor,
                reason=reason,
                update_fields=["outcome", "reasons", *ITEM_APPLIED_FIELDS],
            )
        complaint.outcome = items_outcome(case.items)
    elif outcome == ReviewOutcome.UPHELD:
        complaint.outcome = new_outcome
    old_status = transition(complaint, Status.DECIDED)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status", "outcome"])
    events.review_decided_event(
        complaint=complaint,
        actor=actor,
        review=review,
        from_status=old_status,
        outcome=complaint.outcome if complaint.outcome != old_outcome else "",
    )
    notify_customer(
        complaint,
        "complaint.review_decided",
        actor=actor,
        outcome=str(ReviewOutcome(outcome).label),
        complaint_outcome=str(Outcome(complaint.outcome).label) if complaint.outcome else "",
        decision_text=review.decision_text,
        items=item_lines(changed),
    )
    return review
