"""The conversation on a case in real browsers (issue 13 items 9 and 6): the customer opens
their complaint from the menu's list, replies with a PDF; the agent sees it on the case page and
answers with a canned reply (the static script fills the box, placeholders filled in by the
server); the customer sees the answer. Screenshots in both languages, desktop and 390x844."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from accounts.staff import staff_upsert
from backoffice.roles import roles_sync
from complaints.models import CannedReply, ConversationMessage
from complaints.services import conversation
from tests.admin.conftest import PASSWORD as STAFF_PASSWORD
from tests.admin.conftest import totp_now
from tests.factories.complaints import account_with_loans, dispute
from tests.factories.portal import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SHOTS = os.environ.get("SHOTS_DIR", "")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_customer_replies_with_a_pdf_and_the_agent_answers_with_a_canned_reply(
    page, _playwright_browser, live_server, system_user
):
    roles_sync()
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00",))
    complaint = dispute(account=account, loans=loans)
    agent, device = staff_upsert(
        actor=system_user, reason="t", username="b_agent", role="agent", password=STAFF_PASSWORD
    )
    manager, _ = staff_upsert(actor=system_user, reason="t", username="b_mgr", role="manager")
    reply = conversation.canned_reply_save(
        reply=CannedReply(
            title="已收到材料",
            language="zh-hans",
            body="{customer_name}您好，投诉 {reference} 的材料已收到，我们会在 {deadline} 前答复。",
        ),
        actor=manager,
        reason="t",
    )

    # The customer: the menu's 投诉 opens the list, then the case; a reply with a PDF.
    page.goto("/portal/login/")
    page.fill("input[name=username]", complaint.customer.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    page.click("[data-testid=nav-complaints]")
    expect(page).to_have_url(re.compile(r"/portal/complaints/$"))
    page.click(f"[data-testid=complaint-{complaint.reference}] a.title")
    expect(page.locator("[data-testid=what-you-wrote]")).to_contain_text("我没有借过这笔钱")
    page.fill("textarea[name=body]", "附上我的银行流水，那天我不在国内。")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "银行流水.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("[data-testid=message-submit]")
    expect(page.locator("[data-testid=conversation-message]")).to_have_count(1)
    expect(page.locator("[data-testid=conversation-attachment]")).to_have_text("银行流水.pdf")

    # The agent, in another browser: the case page shows it; the canned reply fills the box.
    staff_context = _playwright_browser.new_context(base_url=live_server.url, locale="zh-CN")
    staff_page = staff_context.new_page()
    staff_page.set_default_timeout(15_000)
    staff_page.goto("/admin/login/")
    staff_page.fill("#id_username", agent.username)
    staff_page.fill("#id_password", STAFF_PASSWORD)
    staff_page.fill("#id_otp_token", totp_now(device))
    staff_page.click("#login-form input[type=submit]")
    staff_page.wait_for_url("**/admin/")
    staff_page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    expect(staff_page.locator("[data-testid=case-conversation]")).to_contain_text("银行流水")
    expect(staff_page.locator("[data-testid=case-attachment]")).to_have_text("银行流水.pdf")
    staff_page.select_option("#act-message select[name=canned_reply]", str(reply.pk))
    filled = conversation.placeholders_fill(reply.body, complaint)
    expect(staff_page.locator("#act-message textarea[name=text]")).to_have_value(filled)
    staff_page.locator("#act-message").scroll_into_view_if_needed()
    _shot(staff_page, "admin-case-canned-zh")
    staff_page.click("[data-testid=submit-message]")
    expect(staff_page.locator("[data-testid=case-message]")).to_have_count(2)
    staff_context.close()
    answer = ConversationMessage.objects.get(author_kind="staff")
    assert answer.body == filled and answer.author == agent

    # The customer sees the answer, oldest first, in both languages.
    page.reload()
    messages = page.locator("[data-testid=conversation-message]")
    expect(messages).to_have_count(2)
    expect(messages.last).to_contain_text(filled)
    _shot(page, "portal-case-zh-desktop")
    page.set_viewport_size({"width": 390, "height": 844})
    _shot(page, "portal-case-zh-390")
    page.goto(f"/portal/complaints/{complaint.reference}/?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=conversation]")).to_contain_text("Conversation")
    _shot(page, "portal-case-en-390")
    page.goto("/portal/complaints/")
    _shot(page, "portal-list-en-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    _shot(page, "portal-list-en-desktop")
    page.goto(f"/portal/complaints/{complaint.reference}/")
    _shot(page, "portal-case-en-desktop")
    page.goto("/portal/complaints/?lang=zh-hans")
    _shot(page, "portal-list-zh-desktop")
