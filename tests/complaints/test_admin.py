import pytest
from django.test import Client

from accounts.staff import staff_upsert
from complaints.enums import Status
from complaints.models import Complaint
from tests.admin.conftest import PASSWORD, login, totp_now
from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db


def _client(system_user, role: str, name: str):
    user, device = staff_upsert(
        actor=system_user, reason="test", username=name, role=role, password=PASSWORD
    )
    client = Client()
    assert login(client, user, device).status_code == 302
    return client, user, device


@pytest.mark.parametrize("rows", [3, 40])
def test_queue_changelist_query_budget(system_user, rows, django_assert_max_num_queries):
    account, loans = account_with_loans(actor=system_user, amounts=["10.00"] * rows)
    for loan in loans:
        dispute(account=account, loans=[loan])
    client, _user, _d = _client(system_user, "agent", "queue_agent")
    for queue in ("", "?queue=unassigned", "?queue=overdue", "?queue=mine", "?queue=due_soon"):
        with django_assert_max_num_queries(15):
            resp = client.get(f"/admin/complaints/complaint/{queue}")
        assert resp.status_code == 200
    resp = client.get("/admin/complaints/complaint/?queue=unassigned")
    assert resp.content.count(b'class="sla sla-') == min(rows, 25)  # one page of 25


def test_case_page_and_actions(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00",))
    complaint = dispute(account=account, loans=loans)
    agent_client, agent, _ = _client(system_user, "agent", "case_agent")
    url = f"/admin/complaints/complaint/{complaint.pk}/change/"
    resp = agent_client.get(url)
    assert resp.status_code == 200
    body = resp.content.decode()
    assert 'data-testid="no-authorization"' in body and loans[0].reference in body
    resp = agent_client.post(f"/admin/complaints/complaint/{complaint.pk}/act/take/")
    assert resp.status_code == 302
    complaint.refresh_from_db()
    assert complaint.assignee == agent and complaint.status == Status.INVESTIGATING
    item = complaint.items.get()
    resp = agent_client.post(
        f"/admin/complaints/complaint/{complaint.pk}/act/decide/",
        {
            "decision_text": "没有授权记录",
            "root_cause": "missing_consent",
            f"item_{item.pk}_outcome": "upheld",
            f"item_{item.pk}_reasons": "授权记录缺失",
        },
    )
    assert resp.status_code == 302, resp.content[:3000]
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL
    # the agent cannot approve
    resp = agent_client.post(
        f"/admin/complaints/complaint/{complaint.pk}/act/approve/", {"reason": "x"}
    )
    assert resp.status_code == 403
    rev_client, reviewer, device = _client(system_user, "reviewer", "case_reviewer")
    resp = rev_client.post(
        f"/admin/complaints/complaint/{complaint.pk}/act/approve/", {"reason": "ok"}
    )
    assert resp.status_code == 302 and "stepup" in resp["Location"]
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL
    from core.stepup import stepup_verify

    assert stepup_verify(user=reviewer, token=totp_now(device))
    resp = rev_client.post(
        f"/admin/complaints/complaint/{complaint.pk}/act/approve/", {"reason": "ok"}
    )
    assert resp.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.DECIDED and complaint.approved_by == reviewer


def test_staff_intake_records_channel(system_user):
    account, loans = account_with_loans(actor=system_user)
    client, agent, _ = _client(system_user, "agent", "intake_agent")
    resp = client.post(
        "/admin/complaints/complaint/intake/",
        {
            "channel": "phone",
            "account_number": account.number,
            "category": "unauthorized_loan",
            "loan_references": loans[0].reference,
            "description": "客户来电称未借款",
        },
    )
    assert resp.status_code == 302, resp.content[:2000]
    c = Complaint.objects.get()
    assert c.channel == "phone" and c.items.count() == 1
    assert c.history.first().history_user == agent


def test_auditor_reads_but_cannot_act(system_user):
    account, loans = account_with_loans(actor=system_user)
    complaint = dispute(account=account, loans=loans)
    client, _u, _d = _client(system_user, "auditor", "aud1")
    assert client.get(f"/admin/complaints/complaint/{complaint.pk}/change/").status_code == 200
    assert client.post(f"/admin/complaints/complaint/{complaint.pk}/act/take/").status_code == 403


@pytest.mark.parametrize("rows", [1, 12])
def test_case_page_query_budget(system_user, rows, django_assert_max_num_queries):
    account, loans = account_with_loans(actor=system_user, amounts=["10.00"] * rows)
    complaint = dispute(account=account, loans=loans)
    client, agent, _ = _client(system_user, "agent", "budget_agent")
    from complaints import services

    for i in range(rows):
        services.complaint_note_add(complaint_id=complaint.pk, actor=agent, text=f"n{i}")
    with django_assert_max_num_queries(25):
        resp = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert resp.status_code == 200
    assert resp.content.count(b'data-testid="disputed-') == rows
