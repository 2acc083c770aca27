"""Issue 12 item 1: the appeal window runs 30 days from the delivery of the closure notice and
is open during the notice period (PRODUCT.md "Appeals against closures", "Delivery")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from accounts.enums import AccountStatus
from closures import selectors, services
from closures.enums import AppealStatus, ClosureReason, ClosureStatus
from core.clock import SHANGHAI, local_date
from core.errors import ApplicationError
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.selectors import notice_delivered_at
from tests.factories import CreditAccountFactory
from tests.factories.closures import proposed

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_notice_period(agent, reviewer):
    """A policy closure approved now: 30 days' notice, not in effect yet."""
    account = CreditAccountFactory()
    closure = proposed(account=account, proposer=agent, reason=ClosureReason.POLICY_HIGH_RISK)
    services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="policy review")
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.APPROVED and closure.effective_at > closure.approved_at
    return account, closure


def _portal_copy(closure) -> Notice:
    return Notice.objects.get(event="closure.notice", object_id=str(closure.pk), channel="portal")


def test_deadline_is_end_of_day_30_after_delivery_and_stated(in_notice_period):
    _account, closure = in_notice_period
    portal = _portal_copy(closure)
    assert portal.status == NoticeStatus.SENT  # the inbox copy counts when written
    deadline = closure.appeal_deadline.astimezone(SHANGHAI)
    assert deadline.date() == local_date(portal.sent_at) + timedelta(days=30)
    assert (deadline.hour, deadline.minute, deadline.second) == (23, 59, 59)
    assert selectors.closure_appeal_deadline(closure) == closure.appeal_deadline
    assert deadline.strftime("%Y-%m-%d") in portal.body  # stated in the notice


def test_appeal_during_notice_period_upheld_keeps_account(in_notice_period, manager):
    account, closure = in_notice_period
    user = account.customer.user
    appeal = services.appeal_file(actor=user, closure_id=closure.pk, grounds="我没有风险")
    assert appeal.status == AppealStatus.SUBMITTED
    assert list(closure.events.order_by("pk").values_list("kind", flat=True))[-1] == "appeal_filed"
    assert Notice.objects.filter(recipient=user, event="appeal.received").exists()
    services.appeal_decide(
        actor=manager,
        appeal_id=appeal.pk,
        outcome=AppealStatus.UPHELD,
        decision_text="政策判断有误",
        reason="policy misapplied",
    )
    closure.refresh_from_db()
    account.refresh_from_db()
    assert closure.status == ClosureStatus.REVERSED
    assert account.status == AccountStatus.ACTIVE and account.credit_limit > 0
    last = closure.history.first()
    assert last.history_user_id == manager.pk
    assert last.history_change_reason == f"appeal {appeal.reference} upheld: policy misapplied"
    assert "reversed" in closure.events.values_list("kind", flat=True)
    # The sweep leaves a reversed closure alone.
    assert (
        services.closure_take_effect(
            actor=manager, closure_id=closure.pk, now=closure.effective_at + timedelta(minutes=1)
        )
        == ClosureStatus.REVERSED
    )


def test_window_counts_from_delivery_not_approval(in_notice_period):
    account, closure = in_notice_period
    user = account.customer.user
    delivered = _portal_copy(closure).sent_at
    last_moment = datetime.combine(
        local_date(delivered) + timedelta(days=30), datetime.max.time(), tzinfo=SHANGHAI
    )
    with pytest.raises(ApplicationError) as exc:
        services.appeal_file(
            actor=user, closure_id=closure.pk, grounds="x", now=last_moment + timedelta(seconds=1)
        )
    assert exc.value.code == "appeal_window_closed"
    appeal = services.appeal_file(actor=user, closure_id=closure.pk, grounds="x", now=last_moment)
    assert appeal.status == AppealStatus.SUBMITTED


def test_failed_deliveries_never_count(in_notice_period):
    _account, closure = in_notice_period
    email = Notice.objects.filter(
        event="closure.notice", object_id=str(closure.pk), channel="email"
    ).first()
    if email is not None:
        assert email.status != NoticeStatus.SENT
    assert notice_delivered_at(event="closure.notice", obj=closure) == _portal_copy(closure).sent_at


def test_customer_request_and_unnotified_closures_are_not_appealable(agent):
    account = CreditAccountFactory()
    closure = proposed(account=account, proposer=agent, reason=ClosureReason.POLICY_HIGH_RISK)
    with pytest.raises(ApplicationError) as exc:  # still pending review: no notice yet
        services.appeal_file(actor=account.customer.user, closure_id=closure.pk, grounds="x")
    assert exc.value.code == "not_appealable"
