"""Intake and the work on an open case: each transition's new state, the exact case events it
writes (types and typed fields), the change reasons, the notices and what it refuses."""

import pytest
from django.utils import timezone

from accounts.enums import AccountStatus, CorrectionKind, LoanStatus
from accounts.models import CreditReportCorrection
from complaints import services
from complaints.enums import Status
from complaints.models import IncidentAlert
from core.errors import ApplicationError
from notices.models import Notice
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    dispute,
    event,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db


def test_unauthorized_loan_intake(system_user, django_capture_on_commit_callbacks):
    account, loans = account_with_loans(actor=system_user, amounts=("300.00", "50.00"))
    with django_capture_on_commit_callbacks():
        c = dispute(account=account, loans=[loans[0]], compromised=True)
    c.refresh_from_db()
    assert c.status == Status.RECEIVED and c.reference.startswith("CP")
    assert c.acknowledged_at is not None
    loan = loans[0]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DISPUTED and loan.collection_paused
    assert loan.history.first().history_user == account.customer.user
    loans[1].refresh_from_db()
    assert loans[1].status == LoanStatus.POSTED
    objection = CreditReportCorrection.objects.get(loan=loan)
    assert objection.kind == CorrectionKind.OBJECTION
    assert objection.origin == f"complaint:{c.reference}"
    assert (objection.due_at - c.received_at).days in (19, 20)
    assert objection.reason == "The customer disputes this loan record."
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    user = account.customer.user
    assert case_events(c) == [
        event("received", user.pk, visible=True, to_status="received"),
        event(
            "loan_disputed",
            user.pk,
            visible=True,
            loan=loan.pk,
            loan_from_status="posted",
            loan_to_status="disputed",
        ),
        event("account_frozen", user.pk, visible=True),
        event("acknowledged", user.pk, visible=True),
    ]
    origin = f"complaint:{c.reference}"
    assert change_reasons(c) == ["customer dispute"]
    assert change_reasons(objection) == ["customer dispute"]
    assert change_reasons(loan)[-1] == origin
    assert change_reasons(account)[-1] == origin  # the freeze
    ack = Notice.objects.filter(event="complaint.acknowledged", recipient=account.customer.user)
    assert ack.exists() and c.reference in ack.first().body
    assert c.history.first().history_user == account.customer.user
    # the same loan cannot be disputed twice
    with pytest.raises(ApplicationError) as exc:
        dispute(account=account, loans=[loan])
    assert exc.value.code == "loan_not_disputable"


def test_intake_refuses_foreign_loans_and_missing_records(system_user):
    account, loans = account_with_loans(actor=system_user)
    other, other_loans = account_with_loans(actor=system_user)
    with pytest.raises(ApplicationError) as exc:
        dispute(account=account, loans=other_loans)
    assert exc.value.status == 400
    with pytest.raises(ApplicationError) as exc:
        dispute(account=account, loans=[])
    assert "loan_records" in exc.value.fields


def test_assign_starts_the_investigation(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    customer_user = account.customer.user
    with pytest.raises(ApplicationError):
        services.complaint_assign(
            complaint_id=c.pk, assignee=agent, actor=customer_user, reason="x"
        )
    mark = last_event_pk(c)
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    c.refresh_from_db()
    assert c.status == Status.INVESTIGATING and c.assignee == agent
    assert c.history.first().history_user == agent
    # One event for the assignment, which also moved the case on (and the customer sees it).
    assert case_events(c, after=mark) == [
        event(
            "assigned",
            agent.pk,
            visible=True,
            assignee=agent.pk,
            from_status="received",
            to_status="investigating",
        )
    ]
    assert change_reasons(c)[-1] == "take"


def test_extend_to_30_then_60_days(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent, manager = staff("agent"), staff("manager")
    due15 = c.due_at
    mark = last_event_pk(c)
    services.complaint_extend(complaint_id=c.pk, actor=agent, reason="需要调取合作方日志")
    c.refresh_from_db()
    assert c.clock_days == 30 and (c.due_at - due15).days == 15
    assert case_events(c, after=mark) == [
        event(
            "extended",
            agent.pk,
            visible=True,
            text="需要调取合作方日志",
            previous_due_at=due15,
            due_at=c.due_at,
        )
    ]
    assert change_reasons(c)[-1] == "需要调取合作方日志"
    assert Notice.objects.filter(event="complaint.extended").exists()
    with pytest.raises(ApplicationError) as exc:
        services.complaint_extend(complaint_id=c.pk, actor=agent, reason="again")
    assert exc.value.code == "already_extended"
    due30 = c.due_at
    mark = last_event_pk(c)
    services.complaint_extension_request(complaint_id=c.pk, actor=agent, reason="外部鉴定")
    with pytest.raises(ApplicationError):
        services.complaint_extension_approve(complaint_id=c.pk, actor=agent, reason="self")
    services.complaint_extension_approve(complaint_id=c.pk, actor=manager, reason="同意")
    c.refresh_from_db()
    assert c.clock_days == 60
    assert case_events(c, after=mark) == [
        event("extension_requested", agent.pk, visible=False, text="外部鉴定"),
        event(
            "extended",
            manager.pk,
            visible=True,
            text="外部鉴定 / 同意",
            previous_due_at=due30,
            due_at=c.due_at,
        ),
    ]
    assert change_reasons(c)[-2:] == ["外部鉴定", "外部鉴定 / 同意"]


def test_pause_and_resume_move_the_deadline(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    due60 = c.due_at  # (the 15-day deadline here)
    start = timezone.now()
    mark = last_event_pk(c)
    services.complaint_pause(
        complaint_id=c.pk, actor=agent, reason="等待鉴定", pause_reason="appraisal", now=start
    )
    with pytest.raises(ApplicationError):
        services.complaint_pause(
            complaint_id=c.pk, actor=agent, reason="again", pause_reason="appraisal"
        )
    services.complaint_resume(
        complaint_id=c.pk,
        actor=agent,
        reason="鉴定完成",
        now=start + timezone.timedelta(days=2, hours=1),
    )
    c.refresh_from_db()
    # Exact to the minute: 2 days 1 hour, shown as 3 days.
    assert c.due_at - due60 == timezone.timedelta(days=2, hours=1) and c.paused_at is None
    assert c.paused_days == 3
    assert case_events(c, after=mark) == [
        event("paused", agent.pk, visible=True, text="等待鉴定", pause_reason="appraisal"),
        event(
            "resumed",
            agent.pk,
            visible=True,
            text="鉴定完成",
            previous_due_at=due60,
            due_at=c.due_at,
        ),
    ]
    assert change_reasons(c)[-2:] == ["等待鉴定", "鉴定完成"]
    assert Notice.objects.filter(event="complaint.paused").exists()
    assert Notice.objects.filter(event="complaint.resumed").exists()


def test_reassignment_and_refused_extension(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent, agent2, manager = staff("agent"), staff("agent"), staff("manager")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    mark = last_event_pk(c)
    services.complaint_assign(complaint_id=c.pk, assignee=agent2, actor=manager, reason="交接")
    # A reassignment changes no status: one internal event, from one assignee to the other.
    assert case_events(c, after=mark) == [
        event("assigned", manager.pk, visible=False, assignee=agent2.pk, previous_assignee=agent.pk)
    ]
    assert change_reasons(c)[-1] == "交接"
    services.complaint_extend(complaint_id=c.pk, actor=agent2, reason="more")
    services.complaint_extension_request(complaint_id=c.pk, actor=agent2, reason="外部鉴定")
    mark = last_event_pk(c)
    services.complaint_extension_approve(
        complaint_id=c.pk, actor=manager, reason="不必", approve=False
    )
    c.refresh_from_db()
    assert c.clock_days == 30 and c.extension_requested_by is None
    assert case_events(c, after=mark) == [
        event("extension_refused", manager.pk, visible=False, text="不必")
    ]
    assert change_reasons(c)[-1] == "不必"


def test_incident_alert_once(system_user):
    agent = staff("agent")
    manager = staff("manager")
    for _ in range(7):
        account, loans = account_with_loans(
            actor=system_user, merchant="可疑商户", partner_interface="pi-77"
        )
        dispute(account=account, loans=loans)
    alerts = IncidentAlert.objects.all()
    assert alerts.count() == 2  # one per dimension (interface, merchant), not per complaint
    assert {a.dimension for a in alerts} == {"partner_interface", "merchant"}
    assert alerts.first().complaint_count == 5
    assert Notice.objects.filter(event="staff.incident_alert", recipient=manager).count() == 2
    # The alert is the managers': an agent gets none.
    assert not Notice.objects.filter(event="staff.incident_alert", recipient=agent).exists()
    assert {change_reasons(a)[0] for a in alerts} == {"incident alert"}


def test_auditor_cannot_act(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    auditor = staff("auditor")
    with pytest.raises(ApplicationError) as exc:
        services.complaint_note_add(complaint_id=c.pk, actor=auditor, text="x")
    assert exc.value.status == 403
