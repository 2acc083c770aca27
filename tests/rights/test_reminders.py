"""Reminders 2 days before the deadline for reviews and appeals too (issue 12 item 8), once
each, from the beat sweep (backoffice.sweep)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from backoffice.sweep import sweep_all
from closures import services as closure_services
from closures.enums import ClosureEventKind
from closures.models import ClosureEvent
from closures.sweeps import closures_sweep
from complaints.enums import ReviewStatus
from complaints.models import VerificationRequest
from complaints.sweeps import complaints_sweep
from core.audit import save_with_history
from notices.models import Notice
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    decide_all,
    dispute,
    event,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db


def _review(system_user, *, handler=None, due_in=timedelta(days=10)) -> VerificationRequest:
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    decide_all(c, staff("agent"))
    review = VerificationRequest(
        complaint=c, grounds="请再看一次", handler=handler, due_at=timezone.now() + due_in
    )
    save_with_history(review, actor=account.customer.user, reason="review requested")
    return review


def test_review_handler_is_reminded_once_two_days_before(system_user):
    handler = staff("manager")
    review = _review(system_user, handler=handler)
    c = review.complaint
    # Not yet: 3 days before.
    assert complaints_sweep(now=review.due_at - timedelta(days=3))["review_reminders"] == 0
    soon = review.due_at - timedelta(days=1)
    mark = last_event_pk(c)
    assert complaints_sweep(now=soon)["review_reminders"] == 1
    assert complaints_sweep(now=soon + timedelta(hours=1))["review_reminders"] == 0
    review.refresh_from_db()
    assert review.reminded_for == review.due_at
    sweeper = User.objects.get(username="system:complaints-sweep")
    assert case_events(c, after=mark) == [
        event("reminder", sweeper.pk, visible=False, due_at=review.due_at, review=review.pk)
    ]
    assert change_reasons(review)[-1] == "Reminder sent"
    assert review.history.order_by("history_id").last().history_user == sweeper
    notices = Notice.objects.filter(event="staff.review_reminder")
    assert [n.recipient for n in notices] == [handler]
    assert c.reference in notices[0].subject


def test_review_without_handler_reminds_managers_and_decided_ones_are_left(system_user):
    manager = staff("manager")
    review = _review(system_user)
    decided = _review(system_user)
    decided.status = ReviewStatus.DECIDED
    save_with_history(decided, actor=manager, reason="decided", update_fields=["status"])
    assert complaints_sweep(now=review.due_at - timedelta(days=1))["review_reminders"] == 1
    assert Notice.objects.filter(event="staff.review_reminder", recipient=manager).count() == 1
    decided.refresh_from_db()
    assert decided.reminded_for is None
    # Past its deadline it is an escalation, not a reminder.
    late = _review(system_user, due_in=timedelta(hours=1))
    assert complaints_sweep(now=late.due_at + timedelta(minutes=1))["review_reminders"] == 0


@pytest.fixture
def appeal(db, agent, reviewer, system_user):
    account = CreditAccountFactory()
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    return closure_services.appeal_file(
        actor=account.customer.user, closure_id=closure.pk, grounds="我一直按时还款"
    )


def _reminder_events(appeal):
    return list(
        ClosureEvent.objects.filter(
            appeal=appeal, kind=ClosureEventKind.NOTICE_SENT, notice_event="staff.appeal_reminder"
        ).values_list("actor__username", "reason")
    )


def test_appeal_is_reminded_once_in_the_beat_sweep(appeal, manager):
    assert closures_sweep(now=appeal.due_at - timedelta(days=3))["appeals_reminded"] == 0
    soon = appeal.due_at - timedelta(days=1, hours=12)
    results = sweep_all(now=soon)
    assert results["closures"]["appeals_reminded"] == 1
    assert sweep_all(now=soon + timedelta(hours=1))["closures"]["appeals_reminded"] == 0
    due = timezone.localtime(appeal.due_at).strftime("%Y-%m-%d %H:%M")
    assert _reminder_events(appeal) == [
        ("system:closures-sweep", f"reminder sent: decide by {due}")
    ]
    notices = Notice.objects.filter(event="staff.appeal_reminder")
    assert [n.recipient for n in notices] == [manager]
    assert appeal.reference in notices[0].subject and due in notices[0].subject


def test_appeal_taken_up_reminds_its_manager(appeal, manager):
    other = staff("manager")
    closure_services.appeal_take_up(actor=other, appeal_id=appeal.pk, reason="mine")
    assert closures_sweep(now=appeal.due_at - timedelta(days=1))["appeals_reminded"] == 1
    assert [n.recipient for n in Notice.objects.filter(event="staff.appeal_reminder")] == [other]


def test_decided_appeal_is_not_reminded(appeal, manager):
    closure_services.appeal_decide(
        actor=manager,
        appeal_id=appeal.pk,
        outcome="dismissed",
        decision_text="维持原决定",
        reason="dismissed",
    )
    assert closures_sweep(now=appeal.due_at - timedelta(days=1))["appeals_reminded"] == 0
    assert _reminder_events(appeal) == []
    assert not Notice.objects.filter(event="staff.appeal_reminder").exists()
