import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.enums import AuthMethod, LoanChannel
from accounts.models import User
from accounts.services import AuthorizationInput, loan_record
from backoffice.roles import roles_sync
from closures import services as closure_services
from closures.enums import ClosureReason
from complaints import services
from complaints.enums import Category, Channel, EventType, ItemOutcome, RootCause, Status
from complaints.evidence import evidence_for_loans
from complaints.models import CaseEvent, Complaint
from complaints.sweeps import complaints_sweep
from core.errors import ApplicationError
from notices.models import Notice
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    dispute,
    event,
    fresh_stepup,
    last_event_pk,
    staff,
)


@pytest.mark.django_db
def test_sweep_reminds_once_and_escalates_once(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    manager = staff("manager")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    c.refresh_from_db()
    soon = c.due_at - timedelta(days=1)
    mark = last_event_pk(c)
    assert complaints_sweep(now=soon)["reminders"] == 1
    assert complaints_sweep(now=soon)["reminders"] == 0
    sweeper = User.objects.get(username="system:complaints-sweep")
    assert case_events(c, after=mark) == [
        event("reminder", sweeper.pk, visible=False, due_at=c.due_at)
    ]
    assert change_reasons(c)[-1] == "Reminder sent"
    assert Notice.objects.filter(event="staff.complaint_reminder", recipient=agent).count() == 1
    late = c.due_at + timedelta(hours=1)
    mark = last_event_pk(c)
    assert complaints_sweep(now=late)["escalations"] == 1
    assert complaints_sweep(now=late)["escalations"] == 0
    assert Notice.objects.filter(event="staff.complaint_escalation", recipient=manager).exists()
    assert case_events(c, after=mark) == [
        event("escalated", sweeper.pk, visible=False, due_at=c.due_at)
    ]
    assert change_reasons(c)[-1] == "Escalated to managers"
    # objections past 20 days alert the managers too
    counts = complaints_sweep(now=c.received_at + timedelta(days=22))
    assert counts["objections"] == 1
    assert Notice.objects.filter(event="staff.objection_overdue").exists()
    # a new deadline (extension) gets its own reminder
    services.complaint_extend(complaint_id=c.pk, actor=agent, reason="more time")
    c.refresh_from_db()
    assert complaints_sweep(now=c.due_at - timedelta(days=1))["reminders"] == 1


@pytest.mark.django_db
def test_paused_complaints_are_not_overdue(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    services.complaint_pause(
        complaint_id=c.pk, actor=agent, reason="调解", pause_reason="mediation"
    )
    c.refresh_from_db()
    assert complaints_sweep(now=c.due_at + timedelta(days=1))["escalations"] == 0


@pytest.mark.django_db
def test_evidence_indicators(system_user):
    account, _ = account_with_loans(actor=system_user, amounts=())
    old_time = timezone.now() - timedelta(days=30)

    def loan(method, device, ip, channel=LoanChannel.APP, partner="", when=None):
        return loan_record(
            actor=system_user,
            reason="t",
            account_id=account.pk,
            amount=10,
            kind="purchase",
            channel=channel,
            partner_interface=partner,
            merchant="m",
            authorization=AuthorizationInput(
                method=method,
                channel=channel,
                device_id=device,
                ip_address=ip,
                occurred_at=when,
            ),
        )

    known = loan(AuthMethod.SMS_CODE, "dev-home", "10.0.0.1", when=old_time)
    same = loan(AuthMethod.TOTP, "dev-home", "10.0.0.1")
    strange = loan(
        AuthMethod.PARTNER_TOKEN, "dev-x", "203.0.113.9", LoanChannel.PARTNER_API, "pi-9"
    )
    bare = loan_record(
        actor=system_user,
        reason="t",
        account_id=account.pk,
        amount=10,
        kind="purchase",
        channel=LoanChannel.APP,
    )
    ev = {e.loan.pk: e for e in evidence_for_loans(loans=[same, strange, bare])}
    assert ev[same.pk].indicators == []
    assert set(ev[strange.pk].indicators) == {
        "partner_interface",
        "new_device",
        "new_ip",
        "weak_method",
    }
    assert ev[bare.pk].indicators == ["no_authorization"]
    # A device and an IP count as known only from successes *before* the loan: the first loan
    # from the home device had never seen it, although later loans use it too.
    (first,) = evidence_for_loans(loans=[known])
    assert set(first.indicators) == {"new_device", "new_ip"}


@pytest.mark.django_db
def test_conflict_of_interest_on_closure_complaints(system_user):
    account, _ = account_with_loans(actor=system_user, amounts=())
    proposer = staff("agent")
    other = staff("agent")
    # The real stake: the proposer of a closure of this account (closures' provider, registered
    # in accounts.hooks), no stand-in.
    closure_services.closure_propose(
        actor=proposer,
        reason="risk review",
        account_id=account.pk,
        closure_reason=ClosureReason.POLICY_HIGH_RISK,
        explanation="高风险",
    )
    c = services.complaint_submit(
        actor=account.customer.user,
        reason="t",
        customer=account.customer,
        category=Category.CLOSURE,
        description="不该关闭",
        channel=Channel.PORTAL,
        account_id=account.pk,
    )
    with pytest.raises(ApplicationError) as exc:
        services.complaint_assign(complaint_id=c.pk, assignee=proposer, actor=other, reason="x")
    assert exc.value.code == "conflict_of_interest"
    services.complaint_assign(complaint_id=c.pk, assignee=other, actor=other, reason="x")


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_approve_at_once_exactly_one_wins(system_user):
    roles_sync()
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00",))
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    services.complaint_decide(
        complaint_id=c.pk,
        actor=agent,
        reason="d",
        decision_text="无授权",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[services.ItemDecision(c.items.get().pk, ItemOutcome.UPHELD, "无授权")],
    )
    reviewers = [staff("reviewer"), staff("reviewer")]
    for r in reviewers:
        fresh_stepup(r)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def approve(reviewer):
        try:
            barrier.wait(timeout=10)
            services.complaint_decision_approve(complaint_id=c.pk, actor=reviewer, reason="ok")
            results.append("ok")
        except ApplicationError as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(r,)) for r in reviewers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["invalid_complaint_transition", "ok"]
    c.refresh_from_db()
    assert c.status == Status.DECIDED
    account.refresh_from_db()
    assert account.outstanding_balance == 0
    assert CaseEvent.objects.filter(complaint=c, type=EventType.LOAN_REVERSED).count() == 1
    assert Complaint.objects.count() == 1
