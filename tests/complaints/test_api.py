from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from accounts.enums import AccountStatus, LoanStatus
from accounts.models import CreditReportCorrection
from complaints import services
from complaints.enums import Channel, ItemOutcome, RootCause
from complaints.evidence import evidence_for_loans
from complaints.models import Complaint
from tests.factories.complaints import account_with_loans, dispute, fresh_stepup, staff

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    client = APIClient()
    resp = client.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": "test-pass-123"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {resp.json()['token']}")
    return client


def test_seed_dispute_end_to_end_through_the_api(system_user):
    # A loan of ¥6,000 with no authorization event at all (授权记录缺失).
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "20.00"))
    loan = loans[0]
    client = _client(account.customer.user)
    resp = client.post(
        "/api/v1/complaints/",
        {
            "category": "unauthorized_loan",
            "account": account.pk,
            "loan_records": [loan.pk],
            "description": "我从未申请过这笔借款",
            "account_compromised": False,
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert set(body) == {"reference", "category", "status", "received_at", "due_at"}
    assert body["status"] == "received" and "+08:00" in body["due_at"]
    ref = body["reference"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DISPUTED

    complaint = Complaint.objects.get(reference=ref)
    # The customer's timeline: the channel, the disputed record, the acknowledgement.
    with translation.override(settings.LANGUAGE_CODE):
        api_label = str(Channel.API.label)
    timeline = [
        (e["event"], e["text"]) for e in client.get(f"/api/v1/complaints/{ref}/").json()["timeline"]
    ]
    assert timeline == [
        ("received", api_label),
        ("loan_disputed", loan.reference),
        ("acknowledged", ""),
    ]
    agent, reviewer = staff("agent"), staff("reviewer")
    ev = evidence_for_loans(loans=[loan])[0]
    assert ev.no_authorization and "no_authorization" in ev.indicators
    services.complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent, reason="t")
    item = complaint.items.get()
    services.complaint_decide(
        complaint_id=complaint.pk,
        actor=agent,
        reason="no consent",
        decision_text="经核查，该笔借款没有任何授权记录，予以撤销。",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[services.ItemDecision(item.pk, ItemOutcome.UPHELD, "授权记录缺失")],
    )
    fresh_stepup(reviewer)
    services.complaint_decision_approve(complaint_id=complaint.pk, actor=reviewer, reason="ok")

    resp = client.get(f"/api/v1/complaints/{ref}/")
    assert resp.status_code == 200
    data = resp.json()
    assert data["status"] == "decided" and data["outcome"] == "upheld"
    assert data["items"] == [{"loan_record": loan.pk, "outcome": "upheld"}]
    assert "授权记录" in data["decision_text"]
    assert [(e["event"], e["text"]) for e in data["timeline"]][3:] == [
        ("assigned", ""),
        ("loan_reversed", loan.reference),
        ("decided", ""),  # the decision has its own field
    ]
    loan.refresh_from_db()
    account.refresh_from_db()
    assert loan.status == LoanStatus.REVERSED
    assert account.outstanding_balance == Decimal("20.00")
    assert CreditReportCorrection.objects.filter(loan=loan, kind="correction").exists()

    resp = client.post(f"/api/v1/complaints/{ref}/review/", {"grounds": "x"}, format="json")
    assert resp.status_code == 201
    resp = client.post(f"/api/v1/complaints/{ref}/review/", {"grounds": "x"}, format="json")
    assert resp.status_code == 409 and resp.json()["error"]["code"]


def test_api_errors_and_scoping(system_user):
    account, loans = account_with_loans(actor=system_user)
    other, other_loans = account_with_loans(actor=system_user)
    client = _client(account.customer.user)
    resp = client.post(
        "/api/v1/complaints/",
        {"category": "unauthorized_loan", "account": account.pk, "description": "x"},
        format="json",
    )
    assert resp.status_code == 400 and "loan_records" in resp.json()["error"]["fields"]
    resp = client.post(
        "/api/v1/complaints/",
        {"category": "billing", "account": other.pk, "description": "x", "acount": 1},
        format="json",
    )
    assert resp.status_code == 400
    resp = client.post(
        "/api/v1/complaints/",
        {
            "category": "unauthorized_loan",
            "account": account.pk,
            "loan_records": [other_loans[0].pk],
            "description": "x",
        },
        format="json",
    )
    assert resp.status_code == 400
    theirs = dispute(account=other, loans=other_loans)
    assert client.get(f"/api/v1/complaints/{theirs.reference}/").status_code == 404
    assert (
        client.post(
            f"/api/v1/complaints/{theirs.reference}/review/", {"grounds": "x"}, format="json"
        ).status_code
        == 404
    )
    mine = dispute(account=account, loans=loans)
    resp = client.post(
        f"/api/v1/complaints/{mine.reference}/review/", {"grounds": "x"}, format="json"
    )
    assert resp.status_code == 409
    assert APIClient().get("/api/v1/complaints/").status_code == 401


def test_compromised_account_is_frozen_and_token_revoked(system_user):
    account, loans = account_with_loans(actor=system_user)
    client = _client(account.customer.user)
    resp = client.post(
        "/api/v1/complaints/",
        {
            "category": "unauthorized_loan",
            "account": account.pk,
            "loan_records": [loans[0].pk],
            "description": "被盗用",
            "account_compromised": True,
        },
        format="json",
    )
    assert resp.status_code == 201
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    assert client.get("/api/v1/complaints/").status_code == 401


@pytest.mark.parametrize("rows", [3, 40])
def test_api_list_query_budget(system_user, rows, django_assert_max_num_queries):
    account, loans = account_with_loans(actor=system_user, amounts=["10.00"] * rows)
    for loan in loans:
        dispute(account=account, loans=[loan])
    client = _client(account.customer.user)
    with django_assert_max_num_queries(10):
        resp = client.get("/api/v1/complaints/")
    body = resp.json()
    assert resp.status_code == 200 and len(body["results"]) == min(rows, 25)  # one page
    assert set(body) == {"next", "previous", "results"} and (body["next"] is None) == (rows <= 25)


def _decided(system_user):
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
    return account, c


def test_review_grounds_up_to_1000_characters(system_user):
    account, c = _decided(system_user)
    client = _client(account.customer.user)
    url = f"/api/v1/complaints/{c.reference}/review/"
    resp = client.post(url, {"grounds": "不" * 1001}, format="json")
    assert resp.status_code == 400
    assert "grounds" in resp.json()["error"]["fields"]
    grounds = "那不是我的手机。" * 18 + "请核查。。。"
    assert len(grounds) == 150
    resp = client.post(url, {"grounds": grounds}, format="json")
    assert resp.status_code == 201
    assert c.reviews.get().grounds == grounds
