"""The agent's decision flow and the reviewer's approval in a real browser (issue 13 items 1,
4 and 7): from the queue, the case page, take and decide from the case page itself - at most 3
page loads after the queue, counted on the main frame - then the reviewer who just signed in
approves on a page that shows what is approved, without being asked for a code again.
Screenshots (desktop and 390x844, zh-hans and en) go to $SHOTS_DIR when it is set."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from accounts.staff import staff_upsert
from backoffice.roles import roles_sync
from complaints.enums import Status
from complaints.models import Complaint
from tests.admin.conftest import PASSWORD, totp_now
from tests.factories.complaints import account_with_loans, dispute

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SHOTS_DIR", "")
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _shots(page, name: str) -> None:
    """`name`-desktop and `name`-mobile, in the page's current language."""
    if not SHOTS:
        return
    for label, size in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page.set_viewport_size(size)
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def _sign_in(page, user, device) -> None:
    page.goto("/admin/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", totp_now(device))
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def _language(page, live_server, code: str) -> None:
    page.context.add_cookies([{"name": "django_language", "value": code, "url": live_server.url}])


def test_from_the_queue_to_a_drafted_decision_in_three_loads_then_approved(
    page, _playwright_browser, live_server, system_user
):
    roles_sync()
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "199.00"))
    complaint = dispute(account=account, loans=loans)
    agent, agent_device = staff_upsert(
        actor=system_user, reason="t", username="flow_agent", role="agent", password=PASSWORD
    )
    reviewer, reviewer_device = staff_upsert(
        actor=system_user, reason="t", username="flow_rev", role="reviewer", password=PASSWORD
    )

    page.set_viewport_size(DESKTOP)
    _sign_in(page, agent, agent_device)
    page.goto("/admin/complaints/complaint/?queue=unassigned")
    loads: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: loads.append(frame.url) if frame == page.main_frame else None,
    )
    page.click(f"text={complaint.reference}")  # 1: the case page
    expect(page.locator("[data-testid=case-status]")).to_be_visible()
    page.click("[data-testid=act-take]")  # 2: take (a POST, back to the case page)
    expect(page.locator("[data-testid=case-assignee]")).to_have_text(agent.username)
    first, second = complaint.items.select_related("loan").order_by("pk")
    form = page.locator("form[data-testid=act-decide]")
    _shots(page, "case-decide-zh")
    # The evidence is on the same page as the form, beside each record.
    expect(form.locator(f"[data-testid=decide-{first.loan.reference}]")).to_contain_text(
        "¥6,000.00"
    )
    expect(
        form.locator(f"[data-testid=decide-{first.loan.reference}] [data-testid=no-authorization]")
    ).to_be_visible()
    form.locator(f"input[name=item_{first.pk}_outcome][value=upheld]").check()
    form.locator(f"textarea[name=item_{first.pk}_reasons]").fill("无任何授权记录")
    form.locator(f"input[name=item_{second.pk}_outcome][value=rejected]").check()
    form.locator(f"textarea[name=item_{second.pk}_reasons]").fill("本人常用设备")
    assert form.locator("select[name=root_cause]").input_value() == ""  # nothing pre-selected
    form.locator("select[name=root_cause]").select_option("missing_consent")
    form.locator("textarea[name=decision_text]").fill("经核查，第一笔借款无授权记录，予以撤销。")
    form.locator("input[name=compensation_amount]").fill("50")
    form.locator("textarea[name=compensation_reason]").fill("风险赔付")
    page.click("[data-testid=submit-decide]")  # 3: decide (a POST, back to the case page)
    expect(page.locator("[data-testid=case-status]")).to_contain_text("待复核")
    assert len(loads) <= 3, loads
    assert all(f"/complaint/{complaint.pk}/change/" in url for url in loads), loads
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL and complaint.drafted_by == agent
    _shots(page, "case-zh")
    _language(page, live_server, "en")
    page.reload()
    expect(page.locator("[data-testid=timeline]")).to_contain_text("took the case")
    _shots(page, "case-en")

    # The reviewer signed in a moment ago: the approval page opens without a second code.
    reviewer_context = _playwright_browser.new_context(base_url=live_server.url, locale="zh-CN")
    reviewer_context.set_default_timeout(15_000)
    rpage = reviewer_context.new_page()
    rpage.set_viewport_size(DESKTOP)
    _sign_in(rpage, reviewer, reviewer_device)
    rpage.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    rpage.click("[data-testid=act-approve]")
    expect(rpage).to_have_url(re.compile(rf"/complaint/{complaint.pk}/act/approve/$"))
    summary = rpage.locator("[data-testid=decision-summary]")
    expect(summary).to_contain_text("经核查，第一笔借款无授权记录，予以撤销。")
    expect(summary).to_contain_text("¥50.00")
    records = rpage.locator("[data-testid=decision-records]")
    expect(records.locator(f"[data-testid=disputed-{first.loan.reference}]")).to_contain_text(
        "¥6,000.00"
    )
    expect(records.locator(f"[data-testid=disputed-{second.loan.reference}]")).to_contain_text(
        "本人常用设备"
    )
    _shots(rpage, "approve-zh")
    _language(rpage, live_server, "en")
    rpage.reload()
    expect(rpage.locator("[data-testid=decision-summary]")).to_contain_text("Missing consent")
    _shots(rpage, "approve-en")
    rpage.fill("textarea[name=reason]", "核对了授权轨迹，同意。")
    rpage.click("[data-testid=submit-action]")
    expect(rpage).to_have_url(re.compile(rf"/complaint/{complaint.pk}/change/$"))
    reviewer_context.close()
    complaint = Complaint.objects.get(pk=complaint.pk)
    assert complaint.status == Status.DECIDED and complaint.approved_by == reviewer
