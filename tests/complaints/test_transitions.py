from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.enums import AccountStatus, CorrectionKind, CorrectionStatus, LoanStatus
from accounts.models import CreditReportCorrection
from complaints import services
from complaints.enums import EventType, ItemOutcome, Outcome, RootCause, Status
from complaints.models import CaseEvent, Complaint, IncidentAlert
from core.errors import ApplicationError
from notices.models import Notice
from notices.services import notice_send
from tests.factories.complaints import account_with_loans, dispute, fresh_stepup, staff

pytestmark = pytest.mark.django_db


def _events(c: Complaint) -> list[str]:
    return list(c.events.order_by("at", "pk").values_list("type", flat=True))


def _decide_all(c, actor, outcome=ItemOutcome.UPHELD, **kw):
    return services.complaint_decide(
        complaint_id=c.pk,
        actor=actor,
        reason="decided",
        decision_text="未找到任何授权记录。",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[
            services.ItemDecision(item_id=i.pk, outcome=outcome, reasons="无授权记录")
            for i in c.items.all()
        ],
        **kw,
    )


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
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    assert {"received", "loan_disputed", "account_frozen", "acknowledged"} <= set(_events(c))
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


def test_assign_extend_pause_resume(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    manager = staff("manager")
    customer_user = account.customer.user
    with pytest.raises(ApplicationError):
        services.complaint_assign(
            complaint_id=c.pk, assignee=agent, actor=customer_user, reason="x"
        )
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    c.refresh_from_db()
    assert c.status == Status.INVESTIGATING and c.assignee == agent
    assert c.history.first().history_user == agent
    due15 = c.due_at
    services.complaint_extend(complaint_id=c.pk, actor=agent, reason="需要调取合作方日志")
    c.refresh_from_db()
    assert c.clock_days == 30 and (c.due_at - due15).days == 15
    assert Notice.objects.filter(event="complaint.extended").exists()
    with pytest.raises(ApplicationError) as exc:
        services.complaint_extend(complaint_id=c.pk, actor=agent, reason="again")
    assert exc.value.code == "already_extended"
    services.complaint_extension_request(complaint_id=c.pk, actor=agent, reason="外部鉴定")
    with pytest.raises(ApplicationError):
        services.complaint_extension_approve(complaint_id=c.pk, actor=agent, reason="self")
    services.complaint_extension_approve(complaint_id=c.pk, actor=manager, reason="同意")
    c.refresh_from_db()
    assert c.clock_days == 60
    due60 = c.due_at
    start = timezone.now()
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
    assert c.paused_days == 3 and (c.due_at - due60).days == 3 and c.paused_at is None
    assert Notice.objects.filter(event="complaint.paused").exists()
    assert Notice.objects.filter(event="complaint.resumed").exists()
    types = _events(c)
    for t in ("assigned", "extended", "extension_requested", "paused", "resumed"):
        assert t in types


def test_small_upheld_decision_applies_at_once(system_user, django_capture_on_commit_callbacks):
    account, loans = account_with_loans(actor=system_user, amounts=("300.00",), fees="5.00")
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    before = account.available_credit
    _decide_all(c, agent)
    c.refresh_from_db()
    assert c.status == Status.DECIDED and c.outcome == Outcome.UPHELD and c.decided_at
    loan = loans[0]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REVERSED and loan.outstanding_amount == 0 and loan.fees == 0
    account.refresh_from_db()
    assert account.available_credit == before + Decimal("300.00")
    assert account.outstanding_balance == 0
    assert CreditReportCorrection.objects.filter(loan=loan, kind=CorrectionKind.CORRECTION).exists()
    assert (
        CreditReportCorrection.objects.get(loan=loan, kind=CorrectionKind.OBJECTION).status
        == CorrectionStatus.SETTLED
    )
    assert c.items.get().refunded_fees == Decimal("5.00")
    decided = Notice.objects.filter(event="complaint.decided", recipient=account.customer.user)
    assert decided.exists()
    body = decided.filter(channel="email").first().body
    assert "核查" in body and "仲裁" in body and loan.reference in body
    assert "decided" in _events(c) and "loan_reversed" in _events(c)
    # cannot close before the decision notice was delivered
    with pytest.raises(ApplicationError) as exc:
        services.complaint_close(complaint_id=c.pk, actor=agent, reason="done")
    assert exc.value.code == "notice_undelivered"
    for n in decided.filter(channel__in=["email", "sms"]):
        notice_send(notice_id=n.pk)
    services.complaint_close(complaint_id=c.pk, actor=agent, reason="done")
    c.refresh_from_db()
    assert c.status == Status.CLOSED
    with pytest.raises(ApplicationError):
        services.complaint_close(complaint_id=c.pk, actor=agent, reason="again")


def test_rejected_decision_restores_loan(system_user):
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    _decide_all(c, agent, outcome=ItemOutcome.REJECTED)
    c.refresh_from_db()
    assert c.outcome == Outcome.REJECTED
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.POSTED and not loans[0].collection_paused


def test_large_decision_needs_reviewer_with_stepup(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("4000.00", "2000.00"))
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    reviewer = staff("reviewer")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    _decide_all(c, agent)
    c.refresh_from_db()
    assert c.status == Status.PENDING_APPROVAL
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.DISPUTED  # nothing applied yet
    with pytest.raises(ApplicationError) as exc:
        services.complaint_decision_approve(complaint_id=c.pk, actor=agent, reason="self")
    assert exc.value.code in ("forbidden", "maker_checker")
    with pytest.raises(ApplicationError) as exc:
        services.complaint_decision_approve(complaint_id=c.pk, actor=reviewer, reason="ok")
    assert exc.value.code == "stepup_required"
    fresh_stepup(reviewer)
    services.complaint_decision_approve(complaint_id=c.pk, actor=reviewer, reason="ok")
    c.refresh_from_db()
    assert c.status == Status.DECIDED and c.approved_by == reviewer
    assert c.history.first().history_user == reviewer
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.REVERSED
    assert CaseEvent.objects.filter(complaint=c, type=EventType.APPROVED, actor=reviewer).exists()


def test_compensation_needs_approval_and_return(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent, reviewer = staff("agent"), staff("reviewer")
    _decide_all(c, agent, compensation_amount=Decimal("50.00"), compensation_reason="风险赔付")
    c.refresh_from_db()
    assert c.status == Status.PENDING_APPROVAL
    services.complaint_decision_return(complaint_id=c.pk, actor=reviewer, reason="补充证据")
    c.refresh_from_db()
    assert c.status == Status.INVESTIGATING
    assert Notice.objects.filter(event="staff.decision_returned").exists()


def test_review_window_and_conflict(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent, manager, manager2 = staff("agent"), staff("manager"), staff("manager")
    customer_user = account.customer.user
    with pytest.raises(ApplicationError) as exc:
        services.review_request(complaint_id=c.pk, actor=customer_user, grounds="不服")
    assert exc.value.code == "not_decided"
    services.complaint_assign(complaint_id=c.pk, assignee=manager, actor=agent, reason="x")
    _decide_all(c, manager, outcome=ItemOutcome.REJECTED)
    c.refresh_from_db()
    late = c.decided_at + timezone.timedelta(days=32)
    with pytest.raises(ApplicationError) as exc:
        services.review_request(complaint_id=c.pk, actor=customer_user, grounds="不服", now=late)
    assert exc.value.code == "review_window_closed"
    review = services.review_request(complaint_id=c.pk, actor=customer_user, grounds="不服")
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW
    with pytest.raises(ApplicationError) as exc:
        services.review_decide(
            review_id=review.pk,
            actor=manager,
            reason="x",
            outcome="dismissed",
            decision_text="维持",
        )
    assert exc.value.code == "conflict_of_interest"
    services.review_decide(
        review_id=review.pk, actor=manager2, reason="x", outcome="dismissed", decision_text="维持"
    )
    c.refresh_from_db()
    assert c.status == Status.DECIDED
    assert Notice.objects.filter(event="complaint.review_decided").exists()


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
    assert agent.pk


def test_auditor_cannot_act(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    auditor = staff("auditor")
    with pytest.raises(ApplicationError) as exc:
        services.complaint_note_add(complaint_id=c.pk, actor=auditor, text="x")
    assert exc.value.status == 403
