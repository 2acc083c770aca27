import pytest
from django.test import Client

from complaints import services
from complaints.enums import ItemOutcome, RootCause, Status
from complaints.models import CaseEvent, Complaint
from notices.models import Notice
from tests.factories.complaints import account_with_loans, dispute, staff

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
    from accounts.enums import LoanStatus
    from accounts.models import CreditReportCorrection

    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    client = _client(account.customer.user)
    resp = client.post(f"/portal/complaints/{c.reference}/", {"withdraw": "1"})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.status == Status.WITHDRAWN and c.outcome == "withdrawn"
    assert c.history.first().history_user == account.customer.user
    loans[0].refresh_from_db()
    assert loans[0].status == LoanStatus.POSTED and not loans[0].collection_paused
    assert CreditReportCorrection.objects.get(loan=loans[0]).status == "withdrawn"
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError) as exc:
        services.complaint_withdraw(complaint_id=c.pk, actor=account.customer.user, reason="x")
    assert exc.value.code == "invalid_complaint_transition"
