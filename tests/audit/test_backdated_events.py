"""A service called with its own date (`now=`, `received_at=`: a letter entered the next day,
the demo's story) dates the case events it writes with it, not with the moment of the call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from closures import services
from closures.enums import ClosureEventKind
from closures.models import ClosureRequest
from closures.services import campaigns
from complaints import services as complaint_services
from complaints.enums import Category, Channel, EventType
from core.models import StepUpVerification
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory
from tests.factories.closures import staff
from tests.factories.complaints import account_with_loans

pytestmark = pytest.mark.django_db


def _campaign_closure() -> ClosureRequest:
    manager, reviewer = staff("manager"), staff("reviewer")
    account = CreditAccountFactory(customer=CustomerFactory(preferred_language="zh-hans"))
    LoanRecordFactory(account=account, kind="cash")
    campaign = services.campaign_create(
        actor=manager, reason="retire", title="现金产品下线", closure_reason="product_change",
        segment={"loan_kind": "cash"}, explanation_zh="产品下线。", explanation_en="Retired.",
    )  # fmt: skip
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="ok")
    campaigns.campaign_run(campaign_id=campaign.pk)
    return ClosureRequest.objects.select_related("account__customer__user").get(campaign=campaign)


def test_an_appeal_filed_taken_up_and_decided_on_given_dates_dates_its_events():
    closure = _campaign_closure()
    now = timezone.now()
    filed, taken = now - timedelta(hours=5), now - timedelta(hours=3)
    decided = now - timedelta(hours=1)
    appeal = services.appeal_file(
        actor=closure.account.customer.user, closure_id=closure.pk, grounds="仍在使用", now=filed
    )
    decider = staff("manager")
    services.appeal_take_up(actor=decider, appeal_id=appeal.pk, now=taken)
    StepUpVerification.objects.create(user=decider, purpose="test")
    services.appeal_decide(
        actor=decider, appeal_id=appeal.pk, outcome="upheld", decision_text="保留账户",
        reason="客户仍在使用", now=decided,
    )  # fmt: skip
    at = dict(closure.events.filter(appeal=appeal).values_list("kind", "at"))
    assert at == {
        ClosureEventKind.APPEAL_FILED: filed,
        ClosureEventKind.APPEAL_REVIEW: taken,
        ClosureEventKind.APPEAL_UPHELD: decided,
        ClosureEventKind.REVERSED: decided,
    }


def test_an_appeal_without_a_date_is_dated_now():
    closure = _campaign_closure()
    before = timezone.now()
    services.appeal_file(actor=closure.account.customer.user, closure_id=closure.pk, grounds="x")
    event = closure.events.get(kind=ClosureEventKind.APPEAL_FILED)
    assert before <= event.at <= timezone.now()


def test_a_backdated_dispute_dates_its_dispute_and_freeze_events(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("199.00",))
    received = timezone.now() - timedelta(hours=6)
    before = timezone.now()
    complaint = complaint_services.complaint_submit(
        actor=account.customer.user,
        reason="customer dispute",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="我没有借过这笔钱",
        channel=Channel.PORTAL,
        account_id=account.pk,
        loan_record_ids=[loan.pk for loan in loans],
        account_compromised=True,
        received_at=received,
    )
    at = dict(complaint.events.values_list("type", "at"))
    assert at[EventType.RECEIVED] == received
    assert at[EventType.LOAN_DISPUTED] == received
    assert at[EventType.ACCOUNT_FROZEN] == received
    # The acknowledgement is sent now (the complaint's acknowledged_at), and dated so.
    assert at[EventType.ACKNOWLEDGED] >= before
