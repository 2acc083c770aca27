import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from accounts.enums import LoanStatus
from accounts.models import CreditReportCorrection
from complaints import services
from complaints.enums import Channel, EventType, ItemOutcome, RootCause, Status
from complaints.models import CaseEvent, Complaint
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


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_new_complaint_form_prefill_and_submit(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("10.00", "20.00"))
    client = _client(account.customer.user)
    resp = client.get(
        f"/portal/complaints/new/?category=unauthorized_loan&account={account.pk}"
        f"&loan_records={loans[1].pk}"
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert f'value="{loans[1].pk}"' in html and "checked" in html
    resp = client.post(
        "/portal/complaints/new/",
        {"category": "unauthorized_loan", "account": account.pk, "description": "x"},
    )
    assert resp.status_code == 200 and "loan_records" in resp.context["form"].errors
    resp = client.post(
        "/portal/complaints/new/",
        {
            "category": "unauthorized_loan",
            "account": account.pk,
            "loan_records": [loans[1].pk],
            "description": "不是我借的",
        },
    )
    assert resp.status_code == 302
    c = Complaint.objects.get()
    assert resp["Location"] == f"/portal/complaints/{c.reference}/"
    assert c.channel == "portal"


def test_detail_is_scoped_and_shows_only_visible_events(system_user):
    account, loans = account_with_loans(actor=system_user)
    other, other_loans = account_with_loans(actor=system_user)
    mine = dispute(account=account, loans=loans)
    theirs = dispute(account=other, loans=other_loans)
    agent = staff("agent")
    services.complaint_note_add(complaint_id=mine.pk, actor=agent, text="内部备注-秘密")
    services.complaint_message_send(complaint_id=mine.pk, actor=agent, text="请提供截图")
    client = _client(account.customer.user)
    assert client.get(f"/portal/complaints/{theirs.reference}/").status_code == 404
    html = client.get(f"/portal/complaints/{mine.reference}/").content.decode()
    assert "请提供截图" in html and "内部备注-秘密" not in html
    # The timeline names the channel and the disputed record (from the events' typed fields).
    with translation.override(settings.LANGUAGE_CODE):
        # "label：value" with the language's own separator (a full-width colon in Chinese).
        received = f"{EventType.RECEIVED.label}：{Channel.PORTAL.label}"
        disputed = f"{EventType.LOAN_DISPUTED.label}：{loans[0].reference}"
    assert received in html and disputed in html
    assert Notice.objects.filter(event="complaint.message").exists()
    assert CaseEvent.objects.filter(complaint=mine, type="message", customer_visible=True).exists()
    staff_client = _client(agent)
    assert staff_client.get(f"/portal/complaints/{mine.reference}/").status_code == 403


def test_rejected_decision_names_the_evidence_and_review_through_portal(system_user):
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    agent = staff("agent")
    services.complaint_decide(
        complaint_id=c.pk,
        actor=agent,
        reason="d",
        decision_text="有短信验证码授权记录",
        root_cause=RootCause.CUSTOMER_ERROR,
        item_decisions=[services.ItemDecision(c.items.get().pk, ItemOutcome.REJECTED, "已授权")],
    )
    body = Notice.objects.get(event="complaint.decided", channel="email").body
    assert "dev-1" in body  # the device of the authorization on record
    client = _client(account.customer.user)
    resp = client.post(f"/portal/complaints/{c.reference}/", {"grounds": "那不是我的手机"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.status == Status.UNDER_REVIEW and c.reviews.count() == 1


def test_customer_withdraws_and_the_dispute_is_lifted(system_user):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    user = account.customer.user
    client = _client(user)
    mark = last_event_pk(c)
    resp = client.post(f"/portal/complaints/{c.reference}/", {"withdraw": "1"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.status == Status.WITHDRAWN and c.outcome == "withdrawn"
    assert c.history.first().history_user == user
    # Withdrawn (not closed), through the transition table, recorded once.
    assert case_events(c, after=mark) == [
        event("withdrawn", user.pk, visible=True, from_status="received", to_status="withdrawn")
    ]
    assert change_reasons(c)[-1] == "Withdrawn by the customer"
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.POSTED and not loans[0].collection_paused
    assert change_reasons(loans[0])[-1] == f"complaint:{c.reference}"
    objection = CreditReportCorrection.objects.get(loan=loans[0])
    assert objection.status == "withdrawn"
    assert change_reasons(objection)[-1] == "Withdrawn by the customer"
    with pytest.raises(ApplicationError) as exc:
        services.complaint_withdraw(complaint_id=c.pk, actor=user, reason="x")
    assert exc.value.code == "invalid_complaint_transition"
    html = client.get(f"/portal/complaints/{c.reference}/").content.decode()
    assert 'data-testid="withdraw-form"' not in html


def test_withdraw_follows_the_transitions(system_user):
    """Investigating: still withdrawable; a decision waiting for approval: not any more."""
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "10.00"))
    user = account.customer.user
    agent = staff("agent")
    investigated = dispute(account=account, loans=[loans[1]])
    waiting = dispute(account=account, loans=[loans[0]])
    for c in (investigated, waiting):
        services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    stranger = account_with_loans(actor=system_user)[0].customer.user
    with pytest.raises(ApplicationError) as exc:
        services.complaint_withdraw(complaint_id=investigated.pk, actor=stranger, reason="x")
    assert exc.value.status == 404
    mark = last_event_pk(investigated)
    services.complaint_withdraw(complaint_id=investigated.pk, actor=user, reason="不需要了")
    assert case_events(investigated, after=mark) == [
        event(
            "withdrawn", user.pk, visible=True, from_status="investigating", to_status="withdrawn"
        )
    ]
    services.complaint_decide(
        complaint_id=waiting.pk,
        actor=agent,
        reason="d",
        decision_text="无授权",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[
            services.ItemDecision(waiting.items.get().pk, ItemOutcome.UPHELD, "无授权")
        ],
    )
    waiting.refresh_from_db()
    assert waiting.status == Status.PENDING_APPROVAL
    html = _client(user).get(f"/portal/complaints/{waiting.reference}/").content.decode()
    assert 'data-testid="withdraw-form"' not in html
    with pytest.raises(ApplicationError) as exc:
        services.complaint_withdraw(complaint_id=waiting.pk, actor=user, reason="x")
    assert exc.value.code == "invalid_complaint_transition"
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.DISPUTED  # untouched by the refused withdrawal


def test_review_grounds_over_1000_characters_are_a_field_error(system_user):
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    services.complaint_decide(
        complaint_id=c.pk,
        actor=staff("agent"),
        reason="d",
        decision_text="有授权记录",
        root_cause=RootCause.CUSTOMER_ERROR,
        item_decisions=[services.ItemDecision(c.items.get().pk, ItemOutcome.REJECTED, "已授权")],
    )
    client = _client(account.customer.user)
    resp = client.post(f"/portal/complaints/{c.reference}/", {"grounds": "不" * 1001})
    assert resp.status_code == 200 and "grounds" in resp.context["form"].errors
    assert not c.reviews.exists()
    resp = client.post(f"/portal/complaints/{c.reference}/", {"grounds": "不服" * 75})
    assert resp.status_code == 302
    assert c.reviews.get().grounds == "不服" * 75


def test_dispute_form_shows_each_loan_at_its_beijing_date_and_time(system_user):
    """A loan taken at 03:12 Beijing time (19:12 UTC the day before) is listed on its own day."""
    from datetime import UTC, datetime

    from accounts.models import LoanRecord

    account, (loan,) = account_with_loans(actor=system_user, amounts=("20000.00",))
    LoanRecord.objects.filter(pk=loan.pk).update(
        created_at=datetime(2026, 11, 27, 19, 12, tzinfo=UTC)
    )
    html = (
        _client(account.customer.user)
        .get(f"/portal/complaints/new/?category=unauthorized_loan&account={account.pk}")
        .content.decode()
    )
    assert f"2026-11-28 03:12 {loan.reference}" in html and "¥20,000.00" in html
    assert "2026-11-27" not in html
