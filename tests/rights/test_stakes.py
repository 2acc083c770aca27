"""Issue 12 item 4: whoever proposed or approved a closure of an account in the last 12 months
takes no action on any complaint (any category), review or appeal about that account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from closures import services as closure_services
from closures.enums import ClosureReason
from closures.models import ClosureRequest
from complaints import services
from complaints.enums import Category, Channel, Status
from complaints.models import Complaint
from core.errors import ApplicationError
from tests.factories.complaints import account_with_loans, fresh_stepup, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def staked(system_user):
    """An `other` complaint about an account whose closure `proposer` proposed."""
    account, _ = account_with_loans(actor=system_user, amounts=())
    proposer = staff("agent")
    closure = closure_services.closure_propose(
        actor=proposer,
        reason="risk review",
        account_id=account.pk,
        closure_reason=ClosureReason.POLICY_HIGH_RISK,
        explanation="高风险",
    )
    approver = staff("reviewer")
    fresh_stepup(approver)
    closure_services.closure_approve(actor=approver, closure_id=closure.pk, reason="checked")
    complaint = services.complaint_submit(
        actor=account.customer.user,
        reason="filed",
        customer=account.customer,
        category=Category.OTHER,
        description="别的问题",
        channel=Channel.PORTAL,
        account_id=account.pk,
    )
    return complaint, proposer, approver


def _refused(call) -> None:
    with pytest.raises(ApplicationError) as exc:
        call()
    assert exc.value.code == "conflict_of_interest"
    assert exc.value.status == 403


def test_stake_refuses_every_action_whatever_the_category(staked):
    complaint, proposer, approver = staked
    other = staff("agent")
    cid = complaint.pk
    _refused(
        lambda: services.complaint_assign(
            complaint_id=cid, assignee=proposer, actor=proposer, reason="take"
        )
    )
    _refused(
        lambda: services.complaint_assign(
            complaint_id=cid, assignee=proposer, actor=other, reason="assign"
        )
    )
    services.complaint_assign(complaint_id=cid, assignee=other, actor=other, reason="take")
    _refused(
        lambda: services.complaint_assign(
            complaint_id=cid, assignee=other, actor=proposer, reason="reassign"
        )
    )
    _refused(lambda: services.complaint_note_add(complaint_id=cid, actor=proposer, text="n"))
    _refused(lambda: services.complaint_message_send(complaint_id=cid, actor=proposer, text="m"))
    _refused(
        lambda: services.complaint_pause(
            complaint_id=cid, actor=proposer, reason="r", pause_reason="mediation"
        )
    )
    _refused(lambda: services.complaint_extend(complaint_id=cid, actor=proposer, reason="r"))
    _refused(
        lambda: services.complaint_decide(
            complaint_id=cid,
            actor=proposer,
            reason="r",
            decision_text="t",
            root_cause="other",
            outcome="rejected",
        )
    )
    services.complaint_pause(complaint_id=cid, actor=other, reason="r", pause_reason="mediation")
    _refused(lambda: services.complaint_resume(complaint_id=cid, actor=proposer, reason="r"))
    _refused(lambda: services.complaint_close(complaint_id=cid, actor=proposer, reason="r"))
    # The reviewer who approved the closure: refused too, on the reviewer's own actions.
    _refused(
        lambda: services.complaint_decision_approve(complaint_id=cid, actor=approver, reason="r")
    )
    _refused(
        lambda: services.complaint_decision_return(complaint_id=cid, actor=approver, reason="r")
    )
    complaint.refresh_from_db()
    # Nothing the proposer tried left a trace: the case is the other agent's, paused by them.
    assert complaint.assignee_id == other.pk and complaint.status == Status.INVESTIGATING
    assert not complaint.events.filter(actor=proposer).exists()
    assert not complaint.history.filter(history_user=proposer).exists()  # fmt: skip


def test_stake_lapses_after_twelve_months(staked):
    complaint, proposer, approver = staked
    closure = ClosureRequest.objects.get(account_id=complaint.account_id)
    ClosureRequest.objects.filter(pk=closure.pk).update(
        created_at=timezone.now() - timedelta(days=400),
        approved_at=timezone.now() - timedelta(days=366),
    )  # a test back-dates the proposal; no service writes the past
    services.complaint_assign(
        complaint_id=complaint.pk, assignee=proposer, actor=proposer, reason="take"
    )
    assert Complaint.objects.get(pk=complaint.pk).assignee_id == proposer.pk
