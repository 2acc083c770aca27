"""The seed's closure story through the back-office: an agent proposes, a reviewer approves with a
fresh code (step-up), the customer appeals, a manager upholds; queues and pages render."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.enums import RiskSignalKind, Severity
from accounts.services import risk_signal_raise
from closures import services
from closures.enums import ClosureStatus
from closures.models import Appeal, ClosureRequest
from tests.admin.conftest import totp_now
from tests.factories import CreditAccountFactory
from tests.factories.closures import proposed, staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _step_up(client, device, location):
    assert location.startswith("/admin/stepup/")
    r = client.post(location, {"otp_token": totp_now(device)})
    assert r.status_code == 302
    return r["Location"]


def test_propose_approve_appeal_uphold_in_the_admin(signed_in, system_user):
    account = CreditAccountFactory(overdue_count=5)
    risk_signal_raise(
        actor=system_user,
        reason="t",
        account_id=account.pk,
        kind=RiskSignalKind.OVERDUE,
        severity=Severity.HIGH,
    )
    agent, _agent_user, _ = signed_in("agent")
    r = agent.post(
        "/admin/closures/closurerequest/propose/",
        {
            "account": account.pk,
            "closure_reason": "overdue",
            "explanation": "您的账户已逾期五次。",
            "reason": "overdue five times",
        },
    )
    assert r.status_code == 302, r.content[:3000]
    closure = ClosureRequest.objects.get(account=account)

    reviewer, reviewer_user, device = signed_in("reviewer")
    page = reviewer.get(f"/admin/closures/closurerequest/{closure.pk}/change/")
    assert page.status_code == 200
    assert "overdue five times" in page.content.decode()  # the case history
    assert reviewer.get("/admin/closures/closurerequest/?queue=review").status_code == 200
    approve = f"/admin/closures/closurerequest/{closure.pk}/approve/"
    r = reviewer.get(approve)
    assert r.status_code == 302
    back = _step_up(reviewer, device, r["Location"])
    assert back == approve
    r = reviewer.post(approve, {"reason": "evidence is clear"})
    assert r.status_code == 302, r.content[:3000]
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.APPROVED and closure.approved_by == reviewer_user

    services.closure_take_effect(actor=system_user, closure_id=closure.pk, now=closure.effective_at)
    appeal = services.appeal_file(
        actor=account.customer.user,
        closure_id=closure.pk,
        grounds="我没有逾期",
        attachment=SimpleUploadedFile("a.pdf", PDF),
    )
    manager, _manager_user, mdevice = signed_in("manager")
    assert manager.get("/admin/closures/appeal/?queue=open").status_code == 200
    assert manager.get(f"/admin/closures/appeal/{appeal.pk}/change/").status_code == 200
    r = manager.get(f"/admin/closures/appeal/{appeal.pk}/attachment/")
    assert r.status_code == 200 and b"".join(r.streaming_content) == PDF
    decide = f"/admin/closures/appeal/{appeal.pk}/decide/"
    data = {"outcome": "upheld", "decision_text": "核实无误，恢复账户", "reason": "data error"}
    r = manager.post(decide, data)
    assert r.status_code == 302
    _step_up(manager, mdevice, r["Location"])
    r = manager.post(decide, data)
    assert r.status_code == 302, r.content[:3000]
    appeal.refresh_from_db()
    account.refresh_from_db()
    assert appeal.status == "upheld" and account.status == "active"
    assert account.credit_limit == 20000


def test_queues_have_a_query_budget(signed_in, system_user):
    agent = staff("agent")
    for _ in range(3):
        proposed(account=CreditAccountFactory(), proposer=agent)
    client, _user, _ = signed_in("manager")

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count("/admin/closures/closurerequest/?queue=review")
    for _ in range(10):
        proposed(account=CreditAccountFactory(), proposer=agent)
    assert count("/admin/closures/closurerequest/?queue=review") == few
    assert few <= 20
    assert count("/admin/closures/closurealert/") <= 20
    assert count("/admin/closures/appeal/?queue=open") <= 20
    assert Appeal.objects.count() == 0
