"""Issue 12 item 5: a fixed list of pause reasons, minute precision, more than 30 days of pauses
in all needs a manager."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from complaints import services
from complaints.enums import PauseReason
from core.errors import ApplicationError
from notices.models import Notice
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    dispute,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(system_user):
    account, loans = account_with_loans(actor=system_user)
    return dispute(account=account, loans=loans)


def test_only_the_fixed_reasons(case):
    agent = staff("agent")
    assert set(PauseReason.values) == {"appraisal", "mediation", "evidence"}
    with pytest.raises(ApplicationError) as exc:
        services.complaint_pause(
            complaint_id=case.pk, actor=agent, reason="r", pause_reason="holiday"
        )
    assert exc.value.code == "invalid" and exc.value.status == 400
    case.refresh_from_db()
    assert case.paused_at is None
    services.complaint_pause(
        complaint_id=case.pk, actor=agent, reason="等客户材料", pause_reason="evidence"
    )
    case.refresh_from_db()
    assert case.pause_reason == PauseReason.CUSTOMER_EVIDENCE


def test_instant_pause_adds_nothing_and_minutes_count_exactly(case):
    agent = staff("agent")
    due = case.due_at
    start = timezone.now().replace(second=10)
    services.complaint_pause(
        complaint_id=case.pk, actor=agent, reason="调解", pause_reason="mediation", now=start
    )
    services.complaint_resume(
        complaint_id=case.pk, actor=agent, reason="ok", now=start + timedelta(seconds=40)
    )
    case.refresh_from_db()
    assert case.due_at == due and case.paused_total == timedelta(0)
    mark = last_event_pk(case)
    services.complaint_pause(
        complaint_id=case.pk, actor=agent, reason="鉴定", pause_reason="appraisal", now=start
    )
    services.complaint_resume(
        complaint_id=case.pk,
        actor=agent,
        reason="鉴定完成",
        now=start + timedelta(hours=5, minutes=7, seconds=3),
    )
    case.refresh_from_db()
    assert case.due_at == due + timedelta(hours=5, minutes=7)
    assert [e["type"] for e in case_events(case, after=mark)] == ["paused", "resumed"]
    assert change_reasons(case)[-2:] == ["鉴定", "鉴定完成"]
    assert case.history.first().history_user_id == agent.pk
    assert Notice.objects.filter(event="complaint.resumed", object_id=str(case.pk)).count() >= 2


def test_more_than_thirty_days_needs_a_manager(case):
    agent = staff("agent")
    manager = staff("manager")
    start = timezone.now()
    services.complaint_pause(
        complaint_id=case.pk, actor=agent, reason="鉴定", pause_reason="appraisal", now=start
    )
    with pytest.raises(ApplicationError) as exc:
        services.complaint_resume(
            complaint_id=case.pk, actor=agent, reason="done", now=start + timedelta(days=31)
        )
    assert exc.value.code == "pause_needs_manager" and exc.value.status == 403
    case.refresh_from_db()
    assert case.paused_at is not None  # still paused, nothing written
    services.complaint_resume(
        complaint_id=case.pk, actor=manager, reason="批准", now=start + timedelta(days=31)
    )
    case.refresh_from_db()
    assert case.paused_total == timedelta(days=31) and case.paused_days == 31
    assert case.history.first().history_user_id == manager.pk
    # Already past 30 days: a further pause needs a manager too.
    with pytest.raises(ApplicationError) as exc:
        services.complaint_pause(
            complaint_id=case.pk, actor=agent, reason="again", pause_reason="mediation"
        )
    assert exc.value.code == "pause_needs_manager"
    services.complaint_pause(
        complaint_id=case.pk, actor=manager, reason="again", pause_reason="mediation"
    )
