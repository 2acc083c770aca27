"""The customer's complaints and appeals lists, and the conversation on a case in the portal
(issue 13 item 9): what the customer wrote, replies with evidence, the agent's answers, each side
notified, files served only to their owner and to staff, as downloads."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, transaction
from django.test import Client

from accounts.staff import staff_upsert
from backoffice.roles import roles_sync
from complaints.enums import Status
from complaints.models import Complaint, ConversationAttachment, ConversationMessage
from complaints.services import conversation
from core.models import ActivityEntry
from notices.models import Notice
from tests.admin.conftest import PASSWORD, login
from tests.factories.complaints import account_with_loans, change_reasons, dispute

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PDF_WITH_SCRIPT = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> "
    b">> endobj\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


@pytest.fixture(autouse=True)
def _roles(db):
    roles_sync()


@pytest.fixture
def case(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "88.00"))
    complaint = dispute(account=account, loans=loans)
    return complaint, account, loans


def _customer_client(complaint) -> Client:
    client = Client()
    client.force_login(complaint.customer.user, backend="core.permissions.PermissionBackend")
    return client


def _staff_client(system_user, role: str, name: str):
    user, device = staff_upsert(
        actor=system_user, reason="test", username=name, role=role, password=PASSWORD
    )
    client = Client()
    assert login(client, user, device).status_code == 302
    return client, user


def _general(account):
    from complaints import services

    return services.complaint_submit(
        actor=account.customer.user,
        reason="test",
        customer=account.customer,
        category="service",
        description="客服电话打不通",
        channel="portal",
        account_id=account.pk,
        loan_record_ids=[],
        account_compromised=False,
    )


def _upload(content: bytes, name: str = "evidence.pdf", ctype: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=ctype)


# --- Lists -----------------------------------------------------------------------------------------


def test_my_complaints_newest_first_with_the_menu_entry(
    case, system_user, django_assert_max_num_queries
):
    complaint, account, loans = case
    older = Complaint.objects.filter(pk=complaint.pk)
    second = _general(account)  # a later one
    other_account, other_loans = account_with_loans(actor=system_user)
    theirs = dispute(account=other_account, loans=other_loans)
    client = _customer_client(complaint)
    with django_assert_max_num_queries(8):
        resp = client.get("/portal/complaints/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert body.index(second.reference) < body.index(older.get().reference)
    assert theirs.reference not in body
    assert 'href="/portal/complaints/" data-testid="nav-complaints"' in body
    assert 'href="/portal/complaints/new/" data-testid="complaint-new"' in body
    assert complaint.get_category_display() in body
    assert complaint.due_at.astimezone().strftime("%Y-%m") in body


def test_my_complaints_pages_of_20(system_user):
    account, _loans = account_with_loans(actor=system_user)
    made = [_general(account) for _ in range(21)]
    client = _customer_client(made[0])
    first = client.get("/portal/complaints/").content.decode()
    assert first.count('data-testid="complaint-CP') == 20
    assert made[0].reference not in first and 'href="?page=2"' in first
    second = client.get("/portal/complaints/?page=2").content.decode()
    assert second.count('data-testid="complaint-CP') == 1 and made[0].reference in second
    assert client.get("/portal/complaints/?page=x").status_code == 200


def test_my_appeals_lists_only_my_appeals(system_user):
    from closures.services import appeal_file
    from tests.factories.closures import closed_by_risk
    from tests.factories.closures import staff as closure_staff

    def appealed(account):
        closure = closed_by_risk(
            account=account,
            proposer=closure_staff("risk_officer"),
            approver=closure_staff("manager"),
            actor=system_user,
        )
        return appeal_file(
            actor=account.customer.user, closure_id=closure.pk, grounds="我一直按时还款"
        )

    account, _ = account_with_loans(actor=system_user)
    mine = appealed(account)
    other, _ = account_with_loans(actor=system_user)
    theirs = appealed(other)
    client = Client()
    client.force_login(account.customer.user, backend="core.permissions.PermissionBackend")
    resp = client.get("/portal/appeals/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert mine.reference in body and theirs.reference not in body
    assert 'data-testid="nav-appeals"' in body


# --- The complaint page ----------------------------------------------------------------------------


def test_the_page_shows_what_the_customer_wrote_and_the_loans(case):
    complaint, _account, loans = case
    resp = _customer_client(complaint).get(f"/portal/complaints/{complaint.reference}/")
    body = resp.content.decode()
    assert 'data-testid="what-you-wrote"' in body and "我没有借过这笔钱" in body
    assert all(loan.reference in body for loan in loans)
    assert 'data-testid="message-form"' in body and 'enctype="multipart/form-data"' in body
    assert 'name="submission_token"' in body and 'maxlength="4000"' in body


def test_customer_replies_with_a_pdf_and_the_assigned_agent_is_told(case, system_user):
    complaint, _a, _l = case
    agent, _d = staff_upsert(
        actor=system_user,
        reason="t",
        username="conv_agent",
        role="agent",
        password=PASSWORD,
        email="conv_agent@example.com",
    )
    from complaints import services

    services.complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent, reason="t")
    client = _customer_client(complaint)
    resp = client.post(
        f"/portal/complaints/{complaint.reference}/messages/",
        {"body": "这是我的银行流水", "file": _upload(PDF, "流水 2026.pdf")},
    )
    assert resp.status_code == 302
    message = ConversationMessage.objects.get(complaint=complaint)
    assert (message.author_kind, message.body, message.author) == (
        "customer",
        "这是我的银行流水",
        complaint.customer.user,
    )
    attachment = message.attachments.get()
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "流水 2026.pdf",
        "application/pdf",
        len(PDF),
    )
    assert attachment.file.name.endswith(".pdf") and "流水" not in attachment.file.name
    # who and why: history and the activity trail
    assert change_reasons(message) == ["Message from the customer"]
    assert ActivityEntry.objects.filter(
        object_type="complaints.conversationmessage", object_id=str(message.pk)
    ).exists()
    # the assigned agent, not the whole queue
    notices = Notice.objects.filter(event="staff.complaint_customer_replied")
    assert [n.recipient for n in notices] == [agent]
    assert "证明材料" in notices.get().body
    page = client.get(f"/portal/complaints/{complaint.reference}/").content.decode()
    assert "这是我的银行流水" in page and "流水 2026.pdf" in page


def test_an_unassigned_case_tells_the_agents(case, system_user):
    complaint, _a, _l = case
    agents = [
        staff_upsert(
            actor=system_user, reason="t", username=f"q{i}", role="agent", email=f"q{i}@ex.com"
        )[0]
        for i in range(2)
    ]
    manager, _ = staff_upsert(
        actor=system_user, reason="t", username="mgr", role="manager", email="m@ex.com"
    )
    conversation.conversation_customer_write(
        complaint_id=complaint.pk, actor=complaint.customer.user, body="还有进展吗？"
    )
    recipients = set(
        Notice.objects.filter(event="staff.complaint_customer_replied").values_list(
            "recipient", flat=True
        )
    )
    assert {a.pk for a in agents} <= recipients and manager.pk not in recipients


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"body": "长" * 4001}, "body", "4000"),
        ({"body": "   "}, "body", ""),
        ({"body": "a\x00b"}, "body", ""),
        ({"body": "", "file": "not-a-pdf"}, "file", ""),
        ({"body": "看附件", "file": "script-pdf"}, "file", "PDF"),
        ({"body": "看附件", "file": "big"}, "file", "5 MB"),
    ],
)
def test_bad_messages_are_field_errors_and_store_nothing(case, data, field, text):
    complaint, _a, _l = case
    files = {
        "not-a-pdf": _upload(b"<html><script>alert(1)</script></html>", "x.pdf"),
        "script-pdf": _upload(PDF_WITH_SCRIPT),
        "big": _upload(PDF + b"0" * (5 * 1024 * 1024)),
    }
    if "file" in data:
        data = {**data, "file": files[data["file"]]}
    resp = _customer_client(complaint).post(
        f"/portal/complaints/{complaint.reference}/messages/", data, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert resp.status_code == 400
    body = resp.content.decode()
    assert f'data-testid="{field}-error"' in body
    assert text in body
    assert not ConversationMessage.objects.exists()
    assert not ConversationAttachment.objects.exists()


def test_the_same_form_posted_twice_files_one_message(case):
    complaint, _a, _l = case
    client = _customer_client(complaint)
    data = {"body": "同一条", "submission_token": "tok-abcdefgh-1234"}
    url = f"/portal/complaints/{complaint.reference}/messages/"
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)
    assert again.status_code == 302 and again["X-Submission-Replayed"] == "true"
    assert ConversationMessage.objects.count() == 1


def test_a_finished_case_takes_no_more_messages(case):
    complaint, _a, _l = case
    Complaint.objects.filter(pk=complaint.pk).update(status=Status.WITHDRAWN)
    client = _customer_client(complaint)
    page = client.get(f"/portal/complaints/{complaint.reference}/").content.decode()
    assert 'data-testid="message-form"' not in page
    resp = client.post(f"/portal/complaints/{complaint.reference}/messages/", {"body": "还在吗"})
    assert resp.status_code == 400
    assert not ConversationMessage.objects.exists()


def test_another_customers_case_is_not_found(case, system_user):
    complaint, _a, _l = case
    other_account, other_loans = account_with_loans(actor=system_user)
    theirs = dispute(account=other_account, loans=other_loans)
    client = _customer_client(complaint)
    resp = client.post(f"/portal/complaints/{theirs.reference}/messages/", {"body": "hi"})
    assert resp.status_code == 404
    assert not ConversationMessage.objects.exists()


# --- Files: only the owner and staff, as downloads -------------------------------------------------


def test_files_are_downloads_for_the_owner_and_staff_only(case, system_user):
    complaint, _a, _l = case
    message = conversation.conversation_customer_write(
        complaint_id=complaint.pk,
        actor=complaint.customer.user,
        body="",
        files=[_upload(PNG, "photo.png", "image/png")],
    )
    attachment = message.attachments.get()
    url = f"/portal/complaints/{complaint.reference}/attachments/{attachment.pk}/"
    resp = _customer_client(complaint).get(url)
    assert resp.status_code == 200
    assert resp["Content-Disposition"].startswith("attachment;")
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Content-Type"] == "image/png"
    assert "sandbox" in resp["Content-Security-Policy"]
    assert b"".join(resp.streaming_content) == PNG

    other_account, other_loans = account_with_loans(actor=system_user)
    stranger = dispute(account=other_account, loans=other_loans)
    assert _customer_client(stranger).get(url).status_code == 404
    wrong_case = f"/portal/complaints/{stranger.reference}/attachments/{attachment.pk}/"
    assert _customer_client(complaint).get(wrong_case).status_code == 404

    staff_url = f"/admin/complaints/conversationattachment/{attachment.pk}/download/"
    agent_client, _agent = _staff_client(system_user, "agent", "dl_agent")
    resp = agent_client.get(staff_url)
    assert resp.status_code == 200 and resp["Content-Disposition"].startswith("attachment;")
    assert resp["X-Content-Type-Options"] == "nosniff"
    case_page = agent_client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert staff_url in case_page.content.decode()
    # a staff member without the complaints' view permission
    risk_client, _risk = _staff_client(system_user, "risk_officer", "dl_risk")
    assert risk_client.get(staff_url).status_code == 403


# --- The agent answers; the customer sees it and is notified ---------------------------------------


def test_the_agent_answers_from_the_case_page_and_the_customer_sees_it(case, system_user):
    complaint, _a, _l = case
    conversation.conversation_customer_write(
        complaint_id=complaint.pk, actor=complaint.customer.user, body="请尽快处理"
    )
    agent_client, agent = _staff_client(system_user, "agent", "ans_agent")
    case_page = agent_client.get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert 'data-testid="case-conversation"' in case_page.content.decode()
    assert "请尽快处理" in case_page.content.decode()
    resp = agent_client.post(
        f"/admin/complaints/complaint/{complaint.pk}/act/message/",
        {"text": "您好，我们已在核实 {reference}。"},
    )
    assert resp.status_code == 302
    answer = ConversationMessage.objects.get(author_kind="staff")
    assert answer.body == f"您好，我们已在核实 {complaint.reference}。"
    assert answer.author == agent
    notice = Notice.objects.get(event="complaint.message", channel="portal")
    assert notice.recipient == complaint.customer.user and answer.body in notice.body
    page = _customer_client(complaint).get(f"/portal/complaints/{complaint.reference}/")
    body = page.content.decode()
    assert answer.body in body and "ans_agent" not in body  # staff names are not shown
    assert body.count(answer.body) == 1  # the timeline does not repeat it
    assert body.index("请尽快处理") < body.index(answer.body)  # oldest first


def test_messages_are_append_only(case):
    complaint, _a, _l = case
    message = conversation.conversation_customer_write(
        complaint_id=complaint.pk, actor=complaint.customer.user, body="原文"
    )
    with pytest.raises(DatabaseError), transaction.atomic():
        ConversationMessage.objects.filter(pk=message.pk).update(body="改过")
    with pytest.raises(DatabaseError), transaction.atomic():
        ConversationMessage.objects.filter(pk=message.pk).delete()
    message.refresh_from_db()
    assert message.body == "原文"


def test_the_case_page_query_count_holds_with_a_conversation(
    case, system_user, django_assert_max_num_queries
):
    complaint, _a, _l = case
    for i in range(6):
        conversation.conversation_customer_write(
            complaint_id=complaint.pk,
            actor=complaint.customer.user,
            body=f"第{i}条",
            files=[_upload(PDF, f"f{i}.pdf")],
        )
    client = _customer_client(complaint)
    with django_assert_max_num_queries(14):
        resp = client.get(f"/portal/complaints/{complaint.reference}/")
    assert resp.content.decode().count('data-testid="conversation-attachment"') == 6


def test_file_name_is_cleaned(case):
    complaint, _a, _l = case
    message = conversation.conversation_customer_write(
        complaint_id=complaint.pk,
        actor=complaint.customer.user,
        body="",
        files=[SimpleUploadedFile('C:\\Users\\me\\"<银行>"\x07.pdf', PDF)],
    )
    assert message.attachments.get().name == "银行.pdf"
