"""API and portal entry points of closures and appeals."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from accounts.enums import AccountStatus
from closures import services
from closures.enums import ClosureStatus
from closures.models import ClosureRequest
from core.tokens import token_issue
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, sent_code, staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)[1]}")
    return client


@pytest.fixture
def account(db):
    return CreditAccountFactory()


def test_api_customer_closure_flow(account):
    user = account.customer.user
    client = api_for(user)
    r = client.post("/api/v1/closures/", {"account": account.pk}, format="json")
    assert r.status_code == 202, r.content
    assert r.json()["status"] == "awaiting_confirmation"
    closure_id = r.json()["id"]
    r = client.post(f"/api/v1/closures/{closure_id}/confirm/", {"otp": "12345x"}, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "otp_invalid"
    r = client.post(
        f"/api/v1/closures/{closure_id}/confirm/", {"otp": sent_code(user)}, format="json"
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    body = client.get(f"/api/v1/closures/{closure_id}/").json()
    assert set(body) == {
        "id",
        "account",
        "reason",
        "status",
        "explanation",
        "effective_at",
        "appeal_deadline",
    }
    assert body["effective_at"].endswith("+08:00")
    r = client.post(f"/api/v1/closures/{closure_id}/withdraw/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_api_another_customers_closure_is_404(account):
    r = api_for(account.customer.user).post(
        "/api/v1/closures/", {"account": account.pk}, format="json"
    )
    stranger = api_for(CreditAccountFactory().customer.user)
    assert stranger.get(f"/api/v1/closures/{r.json()['id']}/").status_code == 404
    assert (
        stranger.post("/api/v1/closures/", {"account": account.pk}, format="json").status_code
        == 404
    )


def test_api_second_request_is_409_and_unknown_field_400(account):
    client = api_for(account.customer.user)
    assert (
        client.post("/api/v1/closures/", {"account": account.pk}, format="json").status_code == 202
    )
    r = client.post("/api/v1/closures/", {"account": account.pk}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "closure_exists"
    r = client.post("/api/v1/closures/", {"acount": account.pk}, format="json")
    assert r.status_code == 400


def test_api_appeal_flow(account, agent, reviewer, manager, system_user):
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    client = api_for(account.customer.user)
    r = client.post(
        "/api/v1/appeals/",
        {
            "closure": closure.pk,
            "grounds": "我已还清",
            "attachment": SimpleUploadedFile("a.pdf", PDF),
        },
        format="multipart",
    )
    assert r.status_code == 201, r.content
    reference = r.json()["reference"]
    assert r.json()["status"] == "submitted"
    r = client.post("/api/v1/appeals/", {"closure": closure.pk, "grounds": "again"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_appealed"
    appeal = closure.appeal
    services.appeal_decide(
        actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="恢复", reason="ok"
    )
    body = client.get(f"/api/v1/appeals/{reference}/").json()
    assert body["status"] == "upheld" and body["decision_text"] == "恢复"
    assert body["closure"] == closure.pk and body["decided_at"]
    stranger = api_for(CreditAccountFactory().customer.user)
    assert stranger.get(f"/api/v1/appeals/{reference}/").status_code == 404


def test_api_appeal_refuses_fake_pdf(account, agent, reviewer, system_user):
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    r = api_for(account.customer.user).post(
        "/api/v1/appeals/",
        {
            "closure": closure.pk,
            "grounds": "x",
            "attachment": SimpleUploadedFile("a.pdf", b"<html>not a pdf</html>"),
        },
        format="multipart",
    )
    assert r.status_code == 400 and "attachment" in r.json()["error"]["fields"]


def test_risk_signal_api_proposes_and_freezes(account):
    risk = staff("risk_officer")
    client = api_for(risk)
    r = client.post(
        "/api/v1/risk/signals/",
        {"account": account.pk, "kind": "suspected_fraud", "severity": "critical", "details": {}},
        format="json",
    )
    assert r.status_code == 201, r.content
    closure = ClosureRequest.objects.get(pk=r.json()["closure"])
    assert closure.reason == "suspected_fraud" and closure.status == ClosureStatus.PENDING_REVIEW
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    r = client.post(
        "/api/v1/risk/signals/",
        {"account": account.pk, "kind": "policy", "severity": "low"},
        format="json",
    )
    assert r.status_code == 201 and r.json()["closure"] is None


def test_risk_signal_api_needs_the_permission(account):
    r = api_for(account.customer.user).post(
        "/api/v1/risk/signals/",
        {"account": account.pk, "kind": "overdue", "severity": "low"},
        format="json",
    )
    assert r.status_code == 403


def test_portal_close_flow(client, account):
    user = account.customer.user
    client.force_login(user)
    r = client.post(f"/portal/accounts/{account.pk}/close/", {"channel": "sms", "understood": "on"})
    closure = ClosureRequest.objects.get(account=account)
    assert r.status_code == 302 and r["Location"] == f"/portal/closures/{closure.pk}/confirm/"
    r = client.post(f"/portal/closures/{closure.pk}/confirm/", {"otp": "000000"})
    assert r.status_code == 200
    r = client.post(f"/portal/closures/{closure.pk}/confirm/", {"otp": sent_code(user)})
    assert r.status_code == 302
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.APPROVED
    assert client.get(f"/portal/closures/{closure.pk}/").status_code == 200


def test_portal_appeal_and_attachment_access(client, account, agent, reviewer, system_user):
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    client.force_login(account.customer.user)
    page = client.get(f"/portal/appeals/new/?closure={closure.pk}")
    assert page.status_code == 200
    r = client.post(
        f"/portal/appeals/new/?closure={closure.pk}",
        {"grounds": "有误", "attachment": SimpleUploadedFile("x.png", b"GIF89a-not-png")},
    )
    assert r.status_code == 200  # form error: not a PDF/JPEG/PNG
    r = client.post(
        f"/portal/appeals/new/?closure={closure.pk}",
        {"grounds": "有误", "attachment": SimpleUploadedFile("x.pdf", PDF)},
    )
    assert r.status_code == 302
    reference = closure.appeal.reference
    r = client.get(f"/portal/appeals/{reference}/attachment/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert b"".join(r.streaming_content) == PDF
    client.force_login(CreditAccountFactory().customer.user)
    assert client.get(f"/portal/appeals/{reference}/attachment/").status_code == 404
    assert client.get(f"/portal/appeals/{reference}/").status_code == 404
    assert client.get(f"/portal/appeals/new/?closure={closure.pk}").status_code == 404
