"""Issue 12 item 2: the review (核查) is a real right. It lasts 30 days after the delivery of
the decision notice (counted as for appeals) whatever the case's status; a request reopens a
closed case; the drafter and approver of the decision take no part in it; an upheld review
changes the decision record by record, only in the customer's favour, through the ledger in
one transaction, with a new decision notice. Each test asserts the new state, the case events
and the history (user and reason), and the refused states."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.enums import CorrectionKind, CreditKind, LoanStatus, RepaymentChannel
from accounts.models import AccountCredit, CreditReportCorrection
from complaints import selectors, services
from complaints.enums import Category, Channel, ItemOutcome, Outcome, RootCause, Status
from core.clock import SHANGHAI, local_date
from core.errors import ApplicationError
from notices.enums import NoticeStatus
from notices.models import Notice
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    decide_all,
    deliver_external,
    dispute,
    event,
    fresh_stepup,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db


def _refused(call, code: str, status: int = 409) -> ApplicationError:
    with pytest.raises(ApplicationError) as exc:
        call()
    assert (exc.value.code, exc.value.status) == (code, status)
    return exc.value


def _decision_notices(complaint):
    return Notice.objects.filter(event="complaint.decided", object_id=str(complaint.pk))


@pytest.fixture
def rejected_and_closed(system_user):
    """A dispute of a loan the customer had partly repaid (100 of 300), rejected by `agent`,
    its decision delivered and the case closed; a second loan (500) still owed."""
    account, (disputed_loan, other_loan) = account_with_loans(
        actor=system_user, amounts=("300.00", "500.00"), authorized=True
    )
    account_services.repayment_record(
        actor=system_user,
        reason="test",
        account_id=account.pk,
        amount=Decimal("100.00"),
        channel=RepaymentChannel.TRANSFER,
        loan_id=disputed_loan.pk,
    )
    c = dispute(account=account, loans=[disputed_loan])
    agent = staff("agent")
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    decide_all(c, agent, outcome=ItemOutcome.REJECTED)
    deliver_external(c, "complaint.decided")
    services.complaint_close(complaint_id=c.pk, actor=agent, reason="answered")
    c.refresh_from_db()
    assert c.status == Status.CLOSED and c.outcome == Outcome.REJECTED
    return c, account, disputed_loan, other_loan, agent


def test_review_reopens_closed_case_and_upheld_review_reverses_the_loan(rejected_and_closed):
    c, account, loan, other_loan, agent = rejected_and_closed
    customer = account.customer.user
    loan.refresh_from_db()
    assert loan.status == LoanStatus.POSTED and loan.outstanding_amount == Decimal("200.00")

    mark = last_event_pk(c)
    review = services.review_request(complaint_id=c.pk, actor=customer, grounds="那笔不是我借的")
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW and c.closed_at is None
    assert case_events(c, after=mark) == [
        event(
            "review_requested",
            customer.pk,
            visible=True,
            text="那笔不是我借的",
            from_status="closed",
            to_status="under_review",
            review=review.pk,
        )
    ]
    last = c.history.first()
    assert last.history_user == customer and last.history_change_reason == "Review requested"
    assert last.status == Status.UNDER_REVIEW
    assert Notice.objects.filter(event="complaint.review_received", recipient=customer).exists()
    # no review of a review
    _refused(
        lambda: services.review_request(complaint_id=c.pk, actor=customer, grounds="again"),
        "review_exists",
    )
    _refused(  # an agent may not decide a review at all
        lambda: services.review_decide(
            review_id=review.pk, actor=agent, reason="x", outcome="dismissed", decision_text="x"
        ),
        "forbidden",
        403,
    )

    manager = staff("manager")
    item = c.items.get()
    mark = last_event_pk(c)
    services.review_decide(
        review_id=review.pk,
        actor=manager,
        reason="复核：授权设备并非客户所有",
        outcome="upheld",
        decision_text="经复核，该笔借款的授权设备不属于您，予以撤销。",
        upheld_item_ids=[item.pk],
    )
    c.refresh_from_db()
    item.refresh_from_db()
    loan.refresh_from_db()
    other_loan.refresh_from_db()
    account.refresh_from_db()
    # the decision changed record by record, applied through the ledger
    assert c.status == Status.DECIDED and c.outcome == Outcome.UPHELD
    assert item.outcome == ItemOutcome.UPHELD and item.applied_at is not None
    assert loan.status == LoanStatus.REVERSED and loan.outstanding_amount == 0
    refund = AccountCredit.objects.get(loan=loan)
    assert item.refund_credit == refund and item.refunded_repaid == Decimal("100.00")
    assert (refund.kind, refund.amount, refund.applied_amount, refund.held_amount) == (
        CreditKind.REFUND,
        Decimal("100.00"),
        Decimal("100.00"),
        Decimal("0.00"),
    )
    assert refund.reference.startswith("CR") and refund.origin == f"complaint:{c.reference}"
    # the refund first reduced what is still owed on the other loan
    assert other_loan.outstanding_amount == Decimal("400.00")
    assert account.outstanding_balance == Decimal("400.00")
    assert account.credit_balance == 0
    assert CreditReportCorrection.objects.filter(loan=loan, kind=CorrectionKind.CORRECTION).exists()
    assert case_events(c, after=mark) == [
        event(
            "loan_reversed",
            manager.pk,
            visible=True,
            loan=loan.pk,
            loan_from_status="posted",
            loan_to_status="reversed",
        ),
        event(
            "review_decided",
            manager.pk,
            visible=True,
            text="经复核，该笔借款的授权设备不属于您，予以撤销。",
            from_status="under_review",
            to_status="decided",
            outcome="upheld",
            review=review.pk,
        ),
    ]
    for obj in (c, item, review, refund):
        obj.refresh_from_db()
        assert change_reasons(obj)[-1] == "复核：授权设备并非客户所有"
        assert obj.history.first().history_user == manager
    assert change_reasons(loan)[-1] == f"complaint:{c.reference}"
    # the new decision notice names the record, its refund entry and the new outcome
    notice = Notice.objects.get(
        event="complaint.review_decided", recipient=account.customer.user, channel="email"
    )
    assert loan.reference in notice.body and refund.reference in notice.body
    assert str(Outcome.UPHELD.label) in notice.body or "支持" in notice.body
    # the customer's page says the decision was changed, and offers no second review
    portal = Client()
    portal.force_login(customer)
    html = portal.get(f"/portal/complaints/{c.reference}/").content.decode()
    assert 'data-testid="decision-changed"' in html and "经复核" in html
    assert 'data-testid="review-form"' not in html and "可在30天内申请核查" not in html
    # it cannot be decided twice, and the case closes again once the new notice arrived
    _refused(
        lambda: services.review_decide(
            review_id=review.pk, actor=manager, reason="x", outcome="dismissed", decision_text="x"
        ),
        "already_decided",
    )
    _refused(
        lambda: services.complaint_close(complaint_id=c.pk, actor=agent, reason="again"),
        "notice_undelivered",
    )
    deliver_external(c, "complaint.review_decided")
    services.complaint_close(complaint_id=c.pk, actor=agent, reason="answered again")
    c.refresh_from_db()
    assert c.status == Status.CLOSED
    _refused(
        lambda: services.review_request(complaint_id=c.pk, actor=customer, grounds="再来"),
        "review_exists",
    )


def test_window_is_30_days_from_delivery_not_from_the_decision(rejected_and_closed):
    c, account, *_ = rejected_and_closed
    customer = account.customer.user
    # The decision notice reached the customer three days after the decision (say the portal
    # copy and the email were late): the window counts from there.
    delivered = c.decided_at + timedelta(days=3)
    _decision_notices(c).filter(status=NoticeStatus.SENT).update(sent_at=delivered)
    until = selectors.complaint_review_until(c)
    local = until.astimezone(SHANGHAI)
    assert local.date() == local_date(delivered) + timedelta(days=30)
    assert (local.hour, local.minute, local.second) == (23, 59, 59)
    # one microsecond late: refused, and nothing changed
    _refused(
        lambda: services.review_request(
            complaint_id=c.pk, actor=customer, grounds="晚了", now=until + timedelta(microseconds=1)
        ),
        "review_window_closed",
    )
    c.refresh_from_db()
    assert c.status == Status.CLOSED and not c.reviews.exists()
    # day 31 after the decision, still within 30 days of the delivery: accepted
    late_for_decision = c.decided_at + timedelta(days=31)
    assert late_for_decision < until
    services.review_request(
        complaint_id=c.pk, actor=customer, grounds="在期限内", now=late_for_decision
    )
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW


def test_failed_or_unknown_deliveries_never_start_the_window(rejected_and_closed):
    c, *_ = rejected_and_closed
    first = _decision_notices(c).filter(status=NoticeStatus.SENT).order_by("sent_at").first()
    # Only a failed email earlier than every real delivery: it does not count.
    _decision_notices(c).exclude(pk=first.pk).update(status=NoticeStatus.FAILED)
    assert selectors.complaint_decision_delivered_at(c) == first.sent_at
    _decision_notices(c).update(status=NoticeStatus.FAILED)
    c = type(c).objects.get(pk=c.pk)
    assert selectors.complaint_review_until(c) is None


def test_approver_excluded_and_only_in_the_customers_favour(system_user):
    account, loans = account_with_loans(
        actor=system_user, amounts=("100.00", "200.00"), authorized=True
    )
    c = dispute(account=account, loans=loans)
    drafter, approver = staff("manager"), staff("manager")
    items = list(c.items.order_by("pk"))
    services.complaint_decide(
        complaint_id=c.pk,
        actor=drafter,
        reason="decided",
        decision_text="一笔撤销，一笔维持。",
        root_cause=RootCause.WEAK_AUTHENTICATION,
        item_decisions=[
            services.ItemDecision(items[0].pk, ItemOutcome.UPHELD, "无授权"),
            services.ItemDecision(items[1].pk, ItemOutcome.REJECTED, "短信验证通过"),
        ],
        compensation_amount=Decimal("20.00"),
        compensation_reason="不便补偿",
    )
    fresh_stepup(approver)
    services.complaint_decision_approve(complaint_id=c.pk, actor=approver, reason="ok")
    c.refresh_from_db()
    assert c.outcome == Outcome.PARTIALLY_UPHELD
    review = services.review_request(
        complaint_id=c.pk, actor=account.customer.user, grounds="第二笔也不是我"
    )

    def decide(actor, **kw):
        return lambda: services.review_decide(
            review_id=review.pk, actor=actor, reason="复核", decision_text="复核结论", **kw
        )

    # neither the drafter nor the approver of the decision takes part in its review
    _refused(decide(drafter, outcome="dismissed"), "conflict_of_interest", 403)
    _refused(decide(approver, outcome="dismissed"), "conflict_of_interest", 403)
    manager = staff("manager")
    # an already upheld record cannot be "changed" (only rejected ones, in the favour)
    err = _refused(decide(manager, outcome="upheld", upheld_item_ids=[items[0].pk]), "invalid", 400)
    assert "items" in err.fields
    err = _refused(decide(manager, outcome="upheld"), "invalid", 400)  # upheld, nothing changed
    assert "items" in err.fields
    _refused(decide(manager, outcome="dismissed", upheld_item_ids=[items[1].pk]), "invalid", 400)
    _refused(decide(manager, outcome="upheld", upheld_item_ids=[999999]), "invalid", 400)
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW  # every refusal left the case as it was
    mark = last_event_pk(c)
    services.review_decide(
        review_id=review.pk,
        actor=manager,
        reason="复核",
        outcome="dismissed",
        decision_text="维持原决定",
    )
    c.refresh_from_db()
    assert c.status == Status.DECIDED and c.outcome == Outcome.PARTIALLY_UPHELD
    loans[1].refresh_from_db()
    assert loans[1].status == LoanStatus.POSTED
    assert case_events(c, after=mark) == [
        event(
            "review_decided",
            manager.pk,
            visible=True,
            text="维持原决定",
            from_status="under_review",
            to_status="decided",
            review=review.pk,
        )
    ]


def test_review_of_a_complaint_without_records(system_user):
    account, _ = account_with_loans(actor=system_user, amounts=())
    customer = account.customer.user
    c = services.complaint_submit(
        actor=customer,
        reason="filed",
        customer=account.customer,
        category=Category.SERVICE,
        description="客服态度差",
        channel=Channel.PORTAL,
        account_id=account.pk,
    )
    agent, manager = staff("agent"), staff("manager")
    services.complaint_decide(
        complaint_id=c.pk,
        actor=agent,
        reason="decided",
        decision_text="未发现问题",
        root_cause=RootCause.OTHER,
        outcome=Outcome.REJECTED,
    )
    _refused(
        lambda: services.review_request(complaint_id=c.pk, actor=staff("agent"), grounds="x"),
        "not_found",
        404,
    )
    _refused(
        lambda: services.review_request(complaint_id=c.pk, actor=customer, grounds="  "),
        "invalid",
        400,
    )
    review = services.review_request(complaint_id=c.pk, actor=customer, grounds="有录音")

    def decide(**kw):
        return lambda: services.review_decide(
            review_id=review.pk, actor=manager, reason="复核", decision_text="结论", **kw
        )

    _refused(decide(outcome="upheld", new_outcome=Outcome.REJECTED), "invalid", 400)
    _refused(decide(outcome="upheld"), "invalid", 400)
    decide(outcome="upheld", new_outcome=Outcome.UPHELD)()
    c.refresh_from_db()
    assert (c.status, c.outcome) == (Status.DECIDED, Outcome.UPHELD)
    assert c.events.order_by("-pk").first().outcome == Outcome.UPHELD


def test_review_before_a_decision_is_refused(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    _refused(
        lambda: services.review_request(
            complaint_id=c.pk, actor=account.customer.user, grounds="x"
        ),
        "not_decided",
    )


def _api(user) -> APIClient:
    client = APIClient()
    resp = client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": "test-pass-123"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {resp.json()['token']}")
    return client


def test_api_review_of_a_closed_case_and_after_the_window(rejected_and_closed):
    c, account, *_ = rejected_and_closed
    client = _api(account.customer.user)
    body = client.get(f"/api/v1/complaints/{c.reference}/").json()
    assert body["status"] == "closed"
    assert body["review_until"] == selectors.complaint_review_until(c).isoformat()
    listed = client.get("/api/v1/complaints/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["review_until"] == body["review_until"]
    # the window over (the notice delivered 31 days ago): 409 with its code, nothing filed
    _decision_notices(c).filter(status=NoticeStatus.SENT).update(
        sent_at=c.decided_at - timedelta(days=31)
    )
    resp = client.post(f"/api/v1/complaints/{c.reference}/review/", {"grounds": "x"}, format="json")
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "review_window_closed"
    assert not c.reviews.exists()
    _decision_notices(c).filter(status=NoticeStatus.SENT).update(sent_at=c.decided_at)
    resp = client.post(
        f"/api/v1/complaints/{c.reference}/review/", {"grounds": "不服"}, format="json"
    )
    assert resp.status_code == 201, resp.content
    assert resp.json()["reference"] == c.reference
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW
    resp = client.post(f"/api/v1/complaints/{c.reference}/review/", {"grounds": "x"}, format="json")
    assert (resp.status_code, resp.json()["error"]["code"]) == (409, "review_exists")


def test_portal_offers_the_review_on_a_closed_case(rejected_and_closed):
    c, account, *_ = rejected_and_closed
    client = Client()
    client.force_login(account.customer.user)
    html = client.get(f"/portal/complaints/{c.reference}/").content.decode()
    assert 'data-testid="review-form"' in html and 'data-testid="review-deadline"' in html
    resp = client.post(f"/portal/complaints/{c.reference}/", {"grounds": "请再核查"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW and c.reviews.get().grounds == "请再核查"
    html = client.get(f"/portal/complaints/{c.reference}/").content.decode()
    assert 'data-testid="review-form"' not in html


def test_admin_review_action_upholds_a_rejected_record(rejected_and_closed, system_user):
    from accounts.staff import staff_upsert
    from tests.admin.conftest import PASSWORD, login

    c, account, loan, *_ = rejected_and_closed
    services.review_request(complaint_id=c.pk, actor=account.customer.user, grounds="不服")
    manager, device = staff_upsert(
        actor=system_user, reason="test", username="review_mgr", role="manager", password=PASSWORD
    )
    client = Client()
    assert login(client, manager, device).status_code == 302
    url = f"/admin/complaints/complaint/{c.pk}/act/review_decide/"
    item = c.items.get()
    form = client.get(url)
    assert form.status_code == 200 and loan.reference in form.content.decode()
    resp = client.post(
        url,
        {
            "outcome": "upheld",
            "decision_text": "改判：撤销该笔借款",
            "upheld_items": [str(item.pk)],
            "reason": "复核改判",
        },
    )
    assert resp.status_code == 302
    c.refresh_from_db()
    loan.refresh_from_db()
    assert (c.status, c.outcome, loan.status) == (
        Status.DECIDED,
        Outcome.UPHELD,
        LoanStatus.REVERSED,
    )
    assert change_reasons(c)[-1] == "复核改判" and c.history.first().history_user == manager


def test_staff_with_a_stake_in_the_account_take_no_part_in_the_review(rejected_and_closed):
    from closures import services as closure_services
    from closures.enums import ClosureReason

    c, account, *_ = rejected_and_closed
    review = services.review_request(complaint_id=c.pk, actor=account.customer.user, grounds="不服")
    approver = staff("manager")  # approved a closure of this account: a stake
    closure = closure_services.closure_propose(
        actor=staff("agent"),
        reason="risk review",
        account_id=account.pk,
        closure_reason=ClosureReason.POLICY_HIGH_RISK,
        explanation="高风险",
    )
    fresh_stepup(approver)
    closure_services.closure_approve(actor=approver, closure_id=closure.pk, reason="checked")
    _refused(
        lambda: services.review_decide(
            review_id=review.pk,
            actor=approver,
            reason="x",
            outcome="dismissed",
            decision_text="维持",
        ),
        "conflict_of_interest",
        403,
    )
    review.refresh_from_db()
    c.refresh_from_db()
    assert review.status == "submitted" and c.status == Status.UNDER_REVIEW
