"""Canned replies (issue 13 item 6): text modules per language with placeholders, managed by
managers in the admin (with a reason and history, never deleted), picked when messaging a
customer in the customer's language, placeholders filled in on the server."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.staff import staff_upsert
from complaints.models import CannedReply, ConversationMessage
from complaints.services import conversation
from core.errors import ApplicationError
from notices.models import Notice
from tests.admin.conftest import PASSWORD, login
from tests.factories.complaints import account_with_loans, change_reasons, dispute

pytestmark = pytest.mark.django_db

BODY = "{customer_name}您好：投诉 {reference} 我们会在 {deadline} 前答复。"


def _client(system_user, role: str, name: str):
    user, device = staff_upsert(
        actor=system_user, reason="test", username=name, role=role, password=PASSWORD
    )
    client = Client()
    assert login(client, user, device).status_code == 302
    return client, user


def _reply(actor, *, title="受理", language="zh-hans", body=BODY) -> CannedReply:
    return conversation.canned_reply_save(
        reply=CannedReply(title=title, language=language, body=body), actor=actor, reason="new"
    )


@pytest.fixture
def case(system_user):
    account, loans = account_with_loans(actor=system_user)
    return dispute(account=account, loans=loans)


def test_placeholders_are_filled_for_the_case(case):
    local_due = case.due_at.astimezone().strftime("%Y-%m-%d")
    text = conversation.placeholders_fill(BODY + " {other}", case)
    assert text == (
        f"{case.customer.name}您好：投诉 {case.reference} 我们会在 {local_due} 前答复。 {{other}}"
    )


def test_a_manager_adds_and_retires_a_reply_in_the_admin(system_user):
    client, manager = _client(system_user, "manager", "canned_mgr")
    resp = client.post(
        "/admin/complaints/cannedreply/add/",
        {"title": "受理", "language": "zh-hans", "body": BODY, "active": "on", "reason": "新模板"},
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    reply = CannedReply.objects.get()
    assert (reply.title, reply.body, reply.active) == ("受理", BODY, True)
    assert change_reasons(reply) == ["新模板"]
    assert reply.history.get().history_user == manager
    resp = client.post(
        f"/admin/complaints/cannedreply/{reply.pk}/change/",
        {"title": "受理", "language": "zh-hans", "body": BODY, "reason": "不再使用"},
    )
    assert resp.status_code == 302
    reply.refresh_from_db()
    assert reply.active is False
    assert change_reasons(reply) == ["新模板", "不再使用"]
    # never deleted
    assert client.get(f"/admin/complaints/cannedreply/{reply.pk}/delete/").status_code == 403


def test_unknown_placeholders_and_a_missing_reason_are_field_errors(system_user):
    client, _manager = _client(system_user, "manager", "canned_mgr2")
    resp = client.post(
        "/admin/complaints/cannedreply/add/",
        {"title": "x", "language": "en", "body": "Dear {name}", "active": "on", "reason": ""},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "未知的占位符：{name}" in body  # zh-hans, the desk's language
    assert not CannedReply.objects.exists()


def test_agents_may_not_manage_canned_replies(system_user):
    client, agent = _client(system_user, "agent", "canned_agent")
    resp = client.post(
        "/admin/complaints/cannedreply/add/",
        {"title": "x", "language": "en", "body": "Hi", "active": "on", "reason": "r"},
    )
    assert resp.status_code == 403
    with pytest.raises(ApplicationError):
        _reply(agent)
    assert not CannedReply.objects.exists()


def test_the_message_form_offers_replies_in_the_customers_language(case, system_user):
    _mgr_client, manager = _client(system_user, "manager", "canned_mgr3")
    zh = _reply(manager)
    en = _reply(manager, title="Received", language="en", body="Dear {customer_name}")
    retired = _reply(manager, title="旧的", body="旧")
    CannedReply.objects.filter(pk=retired.pk).update(active=False)
    client, _agent = _client(system_user, "agent", "canned_agent2")
    # the case page's own message form (the action's page leads back to it)
    resp = client.get(f"/admin/complaints/complaint/{case.pk}/change/")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert f'value="{zh.pk}"' in body and f'value="{en.pk}"' not in body
    assert f'value="{retired.pk}"' not in body
    filled = conversation.placeholders_fill(BODY, case)
    assert f'data-text="{filled}"' in body  # filled in on the server for the script
    assert "complaints/canned_reply.js" in body and "<script>" not in body

    case.customer.preferred_language = "en"
    case.customer.save(update_fields=["preferred_language"])
    body = client.get(f"/admin/complaints/complaint/{case.pk}/change/").content.decode()
    assert f'value="{en.pk}"' in body and f'value="{zh.pk}"' not in body


def test_a_canned_reply_picked_with_an_empty_box_is_sent_filled_in(case, system_user):
    _mgr_client, manager = _client(system_user, "manager", "canned_mgr4")
    zh = _reply(manager)
    client, agent = _client(system_user, "agent", "canned_agent3")
    resp = client.post(
        f"/admin/complaints/complaint/{case.pk}/act/message/", {"canned_reply": zh.pk, "text": ""}
    )
    assert resp.status_code == 302
    message = ConversationMessage.objects.get()
    assert message.body == conversation.placeholders_fill(BODY, case)
    assert message.canned_reply == zh and message.author == agent
    assert "{" not in message.body
    assert Notice.objects.filter(event="complaint.message", recipient=case.customer.user).exists()


def test_nothing_to_send_and_a_retired_reply_are_refused(case, system_user):
    _mgr_client, manager = _client(system_user, "manager", "canned_mgr5")
    zh = _reply(manager)
    client, agent = _client(system_user, "agent", "canned_agent4")
    resp = client.post(f"/admin/complaints/complaint/{case.pk}/act/message/", {"text": " "})
    assert resp.status_code == 200 and "errorlist" in resp.content.decode()
    resp = client.post(f"/admin/complaints/complaint/{case.pk}/act/message/", {"text": "x" * 4001})
    assert resp.status_code == 200 and "4000" in resp.content.decode()
    CannedReply.objects.filter(pk=zh.pk).update(active=False)
    zh.refresh_from_db()
    with pytest.raises(ApplicationError):
        conversation.conversation_staff_reply(complaint_id=case.pk, actor=agent, canned_reply=zh)
    assert not ConversationMessage.objects.exists()


def test_the_case_page_offers_a_saved_or_retired_reply_from_the_next_view(
    case, system_user, django_capture_on_commit_callbacks
):
    """The offered replies are kept in the shared cache: a reply saved (or retired) through the
    service is on (or off) the next case page, and a kept list costs the page no query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, manager = _client(system_user, "manager", "canned_cache_mgr")
    url = f"/admin/complaints/complaint/{case.pk}/change/"
    first = _reply(manager, title="受理通知")
    assert "受理通知" in client.get(url).content.decode()
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert not [q for q in ctx.captured_queries if "complaints_cannedreply" in q["sql"]]

    # The kept lists are dropped once the save commits (the test's transaction never does).
    with django_capture_on_commit_callbacks(execute=True):
        _reply(manager, title="补充材料")
    page = client.get(url).content.decode()
    assert "受理通知" in page and "补充材料" in page
    first.active = False
    with django_capture_on_commit_callbacks(execute=True):
        conversation.canned_reply_save(reply=first, actor=manager, reason="停用")
    page = client.get(url).content.decode()
    assert "受理通知" not in page and "补充材料" in page
