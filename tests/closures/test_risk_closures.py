"""Proposals, maker != checker with step-up, freezing reasons, transitions refused, alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.enums import AccountStatus
from closures import selectors, services
from closures.anomaly import alerts_daily_check
from closures.demo import demo_closed_for_overdue
from closures.enums import AlertRule, ClosureReason, ClosureStatus
from closures.models import ClosureAlert
from core.errors import ApplicationError
from core.models import StepUpVerification
from notices.models import Notice
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, proposed, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    return CreditAccountFactory()


def test_proposal_snapshots_evidence_and_needs_explanation(account, agent):
    closure = proposed(account=account, proposer=agent)
    assert closure.status == ClosureStatus.PENDING_REVIEW
    assert closure.evidence[0]["kind"] == "overdue"
    assert closure.risk_signals.count() == 1
    other = CreditAccountFactory()
    with pytest.raises(ApplicationError) as exc:
        services.closure_propose(
            actor=agent,
            reason="x",
            account_id=other.pk,
            closure_reason=ClosureReason.OVERDUE,
            explanation="  ",
        )
    assert exc.value.status == 400 and "explanation" in exc.value.fields


def test_customer_or_auditor_cannot_propose(account):
    auditor = staff("auditor")
    with pytest.raises(ApplicationError) as exc:
        proposed(account=account, proposer=auditor, signal=False)
    assert exc.value.code == "permission_denied"


def test_fraud_proposal_freezes_at_once_and_rejection_lifts_it(account, risk_officer, reviewer):
    closure = proposed(account=account, proposer=risk_officer, reason=ClosureReason.SUSPECTED_FRAUD)
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN and closure.froze_account
    services.closure_reject(actor=reviewer, closure_id=closure.pk, reason="false positive")
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def test_maker_cannot_check(account, risk_officer):
    risk_officer.groups.add(*staff("reviewer").groups.all())
    StepUpVerification.objects.create(user=risk_officer)
    closure = proposed(account=account, proposer=risk_officer)
    with pytest.raises(ApplicationError) as exc:
        services.closure_approve(actor=risk_officer, closure_id=closure.pk, reason="mine")
    assert exc.value.code == "maker_checker"


def test_approval_needs_fresh_stepup(account, agent):
    reviewer = staff("reviewer", fresh=False)
    closure = proposed(account=account, proposer=agent)
    with pytest.raises(ApplicationError) as exc:
        services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")
    assert exc.value.code == "stepup_required"
    # A code entered 16 minutes ago (the security log is append-only: written with its time).
    StepUpVerification.objects.create(
        user=reviewer, verified_at=timezone.now() - timedelta(minutes=16)
    )
    with pytest.raises(ApplicationError):
        services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")
    StepUpVerification.objects.create(user=reviewer)
    services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")


def test_approve_sends_the_closure_notice_with_appeal_route(
    account, agent, reviewer, django_capture_on_commit_callbacks
):
    closure = proposed(account=account, proposer=agent)
    with django_capture_on_commit_callbacks(execute=True):
        closure = services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")
    assert closure.status == ClosureStatus.APPROVED
    assert closure.effective_at - closure.approved_at == timedelta(days=7)
    assert closure.appeal_deadline > closure.approved_at + timedelta(days=29)
    notice = Notice.objects.get(
        recipient=account.customer.user, event="closure.notice", channel="portal"
    )
    link = f"/portal/appeals/new/?closure={closure.pk}"
    assert link in notice.body
    assert "征信" in notice.body and "还款计划" in notice.body and "申诉" in notice.body
    assert closure.history.first().history_user_id == reviewer.pk


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (ClosureStatus.APPROVED, "approve"),
        (ClosureStatus.REJECTED, "approve"),
        (ClosureStatus.WITHDRAWN, "reject"),
        (ClosureStatus.CLOSED, "reject"),
    ],
)
def test_refused_transitions(account, agent, reviewer, status, action):
    closure = proposed(account=account, proposer=agent)
    closure.status = status
    closure.save(update_fields=["status"])
    fn = services.closure_approve if action == "approve" else services.closure_reject
    with pytest.raises(ApplicationError) as exc:
        fn(actor=reviewer, closure_id=closure.pk, reason="x")
    assert exc.value.code == "invalid_closure_transition"


def test_take_effect_waits_for_the_notice_period(account, agent, reviewer, system_user):
    closure = proposed(account=account, proposer=agent)
    services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")
    assert services.closures_take_effect(actor=system_user) == 0
    later = timezone.now() + timedelta(days=7, minutes=1)
    assert services.closures_take_effect(actor=system_user, now=later) == 1
    account.refresh_from_db()
    assert account.status == AccountStatus.CLOSED


def test_staff_with_stake(account, agent, reviewer, system_user):
    closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    assert selectors.closure_staff_with_stake(account_id=account.pk) == {agent.pk, reviewer.pk}


def test_alert_when_no_open_risk_signal(account, agent):
    closure = proposed(account=account, proposer=agent, signal=False)
    alert = ClosureAlert.objects.get(rule=AlertRule.NO_RISK_SIGNAL)
    assert alert.closure_id == closure.pk


def test_alert_when_staff_proposes_too_many(agent, settings):
    settings.CLOSURE_ALERT_PER_STAFF_PER_HOUR = 2
    for _ in range(4):
        proposed(account=CreditAccountFactory(), proposer=agent)
    assert ClosureAlert.objects.filter(rule=AlertRule.STAFF_BURST).count() == 1  # once


def test_daily_spike_alert(system_user, agent, settings):
    settings.CLOSURE_ALERT_DAILY_MIN = 3
    settings.CLOSURE_ALERT_PER_STAFF_PER_HOUR = 100
    for _ in range(3):
        proposed(account=CreditAccountFactory(), proposer=agent)
    assert alerts_daily_check(actor=system_user) is not None
    assert alerts_daily_check(actor=system_user) is None  # raised once


def test_demo_closed_for_overdue(system_user):
    account = CreditAccountFactory(overdue_count=3)
    closure = demo_closed_for_overdue(account=account, actor=system_user)
    account.refresh_from_db()
    assert closure.status == ClosureStatus.CLOSED and account.status == AccountStatus.CLOSED
    assert closure.notice_sent_at is not None
    # The story (issue 13 item 19): notified 13 days ago, so 17 of the 30 days are left.
    assert timezone.now() + timedelta(days=16) < closure.appeal_deadline
    assert closure.appeal_deadline < timezone.now() + timedelta(days=18)
    assert demo_closed_for_overdue(account=account, actor=system_user).pk == closure.pk
    services.appeal_file(actor=account.customer.user, closure_id=closure.pk, grounds="x")
