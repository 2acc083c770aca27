"""Deciding a complaint: at once or through a reviewer, applied to the ledger, returned,
reviewed; each test asserts the exact case events and the change reasons."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.enums import CorrectionKind, CorrectionStatus, LoanStatus
from accounts.models import CreditReportCorrection
from complaints import services
from complaints.enums import ItemOutcome, Outcome, Status
from core.errors import ApplicationError
from notices.models import Notice
from notices.services import notice_send
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    decide_all,
    dispute,
    event,
    fresh_stepup,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db


def test_small_upheld_decision_applies_at_once(system_user, django_capture_on_commit_callbacks):
    account, loans = account_with_loans(actor=system_user, amounts=("300.00",), fees="5.00")
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    before = account.available_credit
    mark = last_event_pk(c)
    decide_all(c, agent)
    c.refresh_from_db()
    assert c.status == Status.DECIDED and c.outcome == Outcome.UPHELD and c.decided_at
    loan = loans[0]
    assert case_events(c, after=mark) == [
        event("drafted", agent.pk, visible=False, text="decided", outcome="upheld"),
        event(
            "loan_reversed",
            agent.pk,
            visible=True,
            loan=loan.pk,
            loan_from_status="disputed",
            loan_to_status="reversed",
        ),
        event(
            "decided",
            agent.pk,
            visible=True,
            text="未找到任何授权记录。",
            from_status="investigating",
            to_status="decided",
            outcome="upheld",
        ),
    ]
    origin = f"complaint:{c.reference}"
    assert change_reasons(c)[-1] == "decided"
    assert change_reasons(loan)[-1] == origin
    assert change_reasons(account)[-1] == origin
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
    # cannot close before the decision notice was delivered
    with pytest.raises(ApplicationError) as exc:
        services.complaint_close(complaint_id=c.pk, actor=agent, reason="done")
    assert exc.value.code == "notice_undelivered"
    for n in decided.filter(channel__in=["email", "sms"]):
        notice_send(notice_id=n.pk)
    mark = last_event_pk(c)
    services.complaint_close(complaint_id=c.pk, actor=agent, reason="done")
    c.refresh_from_db()
    assert c.status == Status.CLOSED
    assert case_events(c, after=mark) == [
        event("closed", agent.pk, visible=True, from_status="decided", to_status="closed")
    ]
    assert change_reasons(c)[-1] == "done"
    with pytest.raises(ApplicationError):
        services.complaint_close(complaint_id=c.pk, actor=agent, reason="again")


def test_rejected_decision_restores_loan(system_user):
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    mark = last_event_pk(c)
    decide_all(c, agent, outcome=ItemOutcome.REJECTED)
    c.refresh_from_db()
    assert c.outcome == Outcome.REJECTED
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.POSTED and not loans[0].collection_paused
    assert case_events(c, after=mark) == [
        event("drafted", agent.pk, visible=False, text="decided", outcome="rejected"),
        event(
            "decided",
            agent.pk,
            visible=True,
            text="未找到任何授权记录。",
            from_status="received",
            to_status="decided",
            outcome="rejected",
        ),
    ]
    assert change_reasons(loans[0])[-1] == f"complaint:{c.reference}"
    objection = CreditReportCorrection.objects.get(loan=loans[0], kind=CorrectionKind.OBJECTION)
    assert objection.status == CorrectionStatus.SETTLED
    assert change_reasons(objection)[-1] == "decided"


def test_large_decision_needs_reviewer_with_stepup(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("4000.00", "2000.00"))
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    reviewer = staff("reviewer")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    mark = last_event_pk(c)
    decide_all(c, agent)
    c.refresh_from_db()
    assert c.status == Status.PENDING_APPROVAL
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.DISPUTED  # nothing applied yet
    assert case_events(c, after=mark) == [
        event("drafted", agent.pk, visible=False, text="decided", outcome="upheld"),
        event(
            "submitted",
            agent.pk,
            visible=False,
            from_status="investigating",
            to_status="pending_approval",
        ),
    ]
    with pytest.raises(ApplicationError) as exc:
        services.complaint_decision_approve(complaint_id=c.pk, actor=agent, reason="self")
    assert exc.value.code in ("forbidden", "maker_checker")
    with pytest.raises(ApplicationError) as exc:
        services.complaint_decision_approve(complaint_id=c.pk, actor=reviewer, reason="ok")
    assert exc.value.code == "stepup_required"
    fresh_stepup(reviewer)
    mark = last_event_pk(c)
    services.complaint_decision_approve(complaint_id=c.pk, actor=reviewer, reason="ok")
    c.refresh_from_db()
    assert c.status == Status.DECIDED and c.approved_by == reviewer
    assert c.history.first().history_user == reviewer
    assert change_reasons(c)[-1] == "ok"
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.REVERSED
    reversed_events = [
        event(
            "loan_reversed",
            reviewer.pk,
            visible=True,
            loan=loan.pk,
            loan_from_status="disputed",
            loan_to_status="reversed",
        )
        for loan in loans
    ]
    assert case_events(c, after=mark) == [
        event("approved", reviewer.pk, visible=False, text="ok"),
        *reversed_events,
        event(
            "decided",
            reviewer.pk,
            visible=True,
            text="未找到任何授权记录。",
            from_status="pending_approval",
            to_status="decided",
            outcome="upheld",
        ),
    ]


@pytest.mark.parametrize("step", ["decide", "approve", "withdraw"])
def test_ledger_transitions_lock_in_the_global_order(system_user, step):
    """The account, its loans, then the complaint and its items (complaints/locks.py)."""
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "10.00"))
    c = dispute(account=account, loans=loans)
    agent, reviewer = staff("agent"), staff("reviewer")
    calls = {
        "decide": lambda: decide_all(c, agent),
        "approve": lambda: services.complaint_decision_approve(
            complaint_id=c.pk, actor=reviewer, reason="ok"
        ),
        "withdraw": lambda: services.complaint_withdraw(
            complaint_id=c.pk, actor=account.customer.user, reason="x"
        ),
    }
    if step == "approve":
        decide_all(c, agent)
        fresh_stepup(reviewer)
    with CaptureQueriesContext(connection) as queries:
        calls[step]()
    locked = [_locked_table(q["sql"]) for q in queries.captured_queries if " FOR " in q["sql"]]
    assert locked[:4] == [
        "accounts_creditaccount",
        "accounts_loanrecord",
        "complaints_complaint",
        "complaints_disputeditem",
    ]


def _locked_table(sql: str) -> str:
    return sql.split(" FROM ", 1)[1].split()[0].strip('"')


def test_compensation_needs_approval_and_return(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    agent, reviewer = staff("agent"), staff("reviewer")
    decide_all(c, agent, compensation_amount=Decimal("50.00"), compensation_reason="风险赔付")
    c.refresh_from_db()
    assert c.status == Status.PENDING_APPROVAL
    mark = last_event_pk(c)
    services.complaint_decision_return(complaint_id=c.pk, actor=reviewer, reason="补充证据")
    c.refresh_from_db()
    assert c.status == Status.INVESTIGATING
    assert case_events(c, after=mark) == [
        event(
            "returned",
            reviewer.pk,
            visible=False,
            text="补充证据",
            from_status="pending_approval",
            to_status="investigating",
        )
    ]
    assert change_reasons(c)[-1] == "补充证据"
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
    decide_all(c, manager, outcome=ItemOutcome.REJECTED)
    c.refresh_from_db()
    late = c.decided_at + timezone.timedelta(days=32)
    with pytest.raises(ApplicationError) as exc:
        services.review_request(complaint_id=c.pk, actor=customer_user, grounds="不服", now=late)
    assert exc.value.code == "review_window_closed"
    mark = last_event_pk(c)
    review = services.review_request(complaint_id=c.pk, actor=customer_user, grounds="不服")
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW
    assert case_events(c, after=mark) == [
        event(
            "review_requested",
            customer_user.pk,
            visible=True,
            text="不服",
            from_status="decided",
            to_status="under_review",
            review=review.pk,
        )
    ]
    assert change_reasons(c)[-1] == "Review requested"
    with pytest.raises(ApplicationError) as exc:
        services.review_decide(
            review_id=review.pk,
            actor=manager,
            reason="x",
            outcome="dismissed",
            decision_text="维持",
        )
    assert exc.value.code == "conflict_of_interest"
    mark = last_event_pk(c)
    services.review_decide(
        review_id=review.pk,
        actor=manager2,
        reason="复核",
        outcome="dismissed",
        decision_text="维持",
    )
    c.refresh_from_db()
    assert c.status == Status.DECIDED
    assert case_events(c, after=mark) == [
        event(
            "review_decided",
            manager2.pk,
            visible=True,
            text="维持",
            from_status="under_review",
            to_status="decided",
            review=review.pk,
        )
    ]
    assert change_reasons(c)[-1] == "复核"
    review.refresh_from_db()
    assert review.outcome == "dismissed" and change_reasons(review)[-1] == "复核"
    assert Notice.objects.filter(event="complaint.review_decided").exists()
