import pytest
from django.test import Client

from accounts.staff import staff_upsert
from complaints import services
from complaints.enums import Status
from complaints.models import Complaint
from core.stepup import stepup_verify
from tests.admin.conftest import PASSWORD, login, totp_now, without_stepup
from tests.factories.complaints import account_with_loans, change_reasons, dispute

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
    without_stepup(rev_client)  # signed in over 15 minutes ago: the sign-in code is not fresh
    approve_url = f"/admin/complaints/complaint/{complaint.pk}/act/approve/"
    # The code is asked for before the approval page is shown...
    resp = rev_client.get(approve_url)
    assert resp.status_code == 302 and resp["Location"].startswith("/admin/stepup/?next=")
    # ...and a post that arrives stale is shown again with what was typed.
    resp = rev_client.post(approve_url, {"reason": "核实无误"})
    assert resp.status_code == 200
    assert 'data-testid="stepup-inline"' in resp.content.decode()
    assert resp.context["form"]["reason"].value() == "核实无误"
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL
    assert stepup_verify(
        user=reviewer, token=totp_now(device), session_key=rev_client.session.session_key
    )
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
    for i in range(rows):
        services.complaint_note_add(complaint_id=complaint.pk, actor=agent, text=f"n{i}")
    # 12 for the case page (PRODUCT.md) + at most 3 for its conversation section
    # (tests/admin/test_case_page.py counts the two apart).
    with django_assert_max_num_queries(15):
        resp = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert resp.status_code == 200
    assert resp.content.count(b'data-testid="disputed-') == rows


def _offered(client, complaint) -> set[str]:
    html = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/").content.decode()
    return {part.split('"', 1)[0] for part in html.split('data-testid="act-')[1:]}


def test_case_page_offers_the_actions_the_state_allows(system_user):
    account, loans = account_with_loans(actor=system_user)
    complaint = dispute(account=account, loans=loans)
    agent_client, agent, _ = _client(system_user, "agent", "offer_agent")
    manager_client, _manager, _ = _client(system_user, "manager", "offer_manager")
    opening = {"take", "assign", "note", "message", "pause", "decide"}
    assert _offered(agent_client, complaint) == opening | {"extend"}
    services.complaint_extend(complaint_id=complaint.pk, actor=agent, reason="more time")
    # Extended to clock.EXTENDED_DAYS: a further extension is the manager's to grant.
    assert _offered(agent_client, complaint) == opening | {"request_extension"}
    services.complaint_extension_request(complaint_id=complaint.pk, actor=agent, reason="鉴定")
    services.complaint_pause(
        complaint_id=complaint.pk, actor=agent, reason="调解", pause_reason="mediation"
    )
    paused = {"take", "assign", "note", "message", "resume", "decide"}
    assert _offered(agent_client, complaint) == paused
    assert _offered(manager_client, complaint) == paused | {"decide_extension"}


def test_missing_permission_is_403_and_unknown_is_404(system_user):
    account, loans = account_with_loans(actor=system_user)
    complaint = dispute(account=account, loans=loans)
    outsider, _u, _d = _client(system_user, "risk_officer", "no_complaints")
    base = f"/admin/complaints/complaint/{complaint.pk}"
    assert outsider.get(f"{base}/change/").status_code == 403
    assert outsider.get(f"{base}/history/").status_code == 403  # simple-history's page too
    assert outsider.post(f"{base}/act/take/").status_code == 403
    assert outsider.get("/admin/complaints/complaint/intake/").status_code == 403
    agent_client, _agent, _ = _client(system_user, "agent", "404_agent")
    assert agent_client.get(f"{base}/act/no_such_action/").status_code == 404
    assert agent_client.get("/admin/complaints/complaint/999999/change/").status_code == 404
    assert agent_client.post("/admin/complaints/complaint/999999/act/take/").status_code == 404
    assert agent_client.get(f"{base}/act/review_decide/").status_code == 403
    complaint.refresh_from_db()
    assert complaint.assignee is None


# Each reason field of the case actions, with what else its form needs to be valid.
REASON_FIELDS = [
    ("extend", "reason", {}),
    ("request_extension", "reason", {}),
    ("decide_extension", "reason", {"approve": "on"}),
    ("pause", "reason", {"pause_reason": "appraisal"}),
    ("resume", "reason", {}),
    ("approve", "reason", {}),
    ("return", "reason", {}),
    ("close", "reason", {}),
    ("assign", "reason", {}),
    ("decide", "reason", {"decision_text": "x", "root_cause": "other"}),
    ("decide", "compensation_reason", {"decision_text": "x", "root_cause": "other"}),
    ("decide", "item_reasons", {"decision_text": "x", "root_cause": "other"}),
    ("review_decide", "reason", {"outcome": "dismissed", "decision_text": "x"}),
]


@pytest.mark.parametrize(("action", "field", "extra"), REASON_FIELDS)
def test_a_reason_over_1000_characters_is_a_field_error(system_user, action, field, extra):
    account, loans = account_with_loans(actor=system_user)
    complaint = dispute(account=account, loans=loans)
    client, _manager, _ = _client(system_user, "manager", f"long_{action}_{field}")
    item = complaint.items.get()
    if field == "item_reasons":
        field = f"item_{item.pk}_reasons"
    data = {**extra, f"item_{item.pk}_outcome": "upheld", f"item_{item.pk}_reasons": "ok"}
    data[field] = "长" * 1001
    before = complaint.history.count()
    resp = client.post(f"/admin/complaints/complaint/{complaint.pk}/act/{action}/", data)
    assert resp.status_code == 200
    assert field in resp.context["form"].errors
    assert complaint.history.count() == before


def test_a_150_character_reason_is_stored_whole(system_user):
    account, loans = account_with_loans(actor=system_user)
    complaint = dispute(account=account, loans=loans)
    client, agent, _ = _client(system_user, "agent", "reason_agent")
    base = f"/admin/complaints/complaint/{complaint.pk}/act"
    reason = "需要调取合作方日志。" * 15
    assert len(reason) == 150
    assert client.post(f"{base}/extend/", {"reason": reason}).status_code == 302
    complaint.refresh_from_db()
    assert complaint.clock_days == 30
    assert change_reasons(complaint)[-1] == reason
    assert complaint.events.get(type="extended").text == reason
    pause = {"reason": reason[::-1], "pause_reason": "appraisal"}
    assert client.post(f"{base}/pause/", pause).status_code == 302
    assert change_reasons(complaint)[-1] == reason[::-1]
    item = complaint.items.get()
    decision = {
        "decision_text": "无授权",
        "root_cause": "missing_consent",
        "reason": reason,
        f"item_{item.pk}_outcome": "rejected",
        f"item_{item.pk}_reasons": reason,
    }
    assert client.post(f"{base}/decide/", decision).status_code == 302
    item.refresh_from_db()
    assert item.reasons == reason and change_reasons(item)[-1] == reason
    assert agent.pk == complaint.history.first().history_user_id
