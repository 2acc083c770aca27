"""The queue in a real browser (issue 13 items 2, 5 and 8): search the queue by customer name,
tick cases and take them in bulk with one reason (a summary of what was done and refused), and
the phone intake's customer lookup that fills the account. Screenshots (desktop and 390x844,
zh-hans and en) go to $SHOTS_DIR when it is set."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from accounts.staff import staff_upsert
from backoffice.roles import roles_sync
from complaints.models import Complaint
from complaints.services import complaint_withdraw
from tests.admin.conftest import PASSWORD, totp_now
from tests.factories import CustomerFactory
from tests.factories.complaints import account_with_loans, dispute

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SHOTS_DIR", "")
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def _shots(page, name: str) -> None:
    if not SHOTS:
        return
    for label, size in (("desktop", DESKTOP), ("mobile", MOBILE)):
        page.set_viewport_size(size)
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_search_bulk_take_and_intake_lookup(page, live_server, system_user):
    roles_sync()
    customer = CustomerFactory(name="张小明", phone="13912345678")
    cases = []
    for _ in range(3):
        account, loans = account_with_loans(actor=system_user, customer=customer)
        cases.append(dispute(account=account, loans=loans))
    other_account, other_loans = account_with_loans(
        actor=system_user, customer=CustomerFactory(name="李四")
    )
    dispute(account=other_account, loans=other_loans)
    agent, device = staff_upsert(
        actor=system_user, reason="t", username="bulk_agent", role="agent", password=PASSWORD
    )

    page.set_viewport_size(DESKTOP)
    page.goto("/admin/login/")
    page.fill("#id_username", agent.username)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", totp_now(device))
    page.click("#login-form input[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    for language in ("zh-hans", "en"):
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        # zh-hans: the unassigned queue; en (after the bulk take): every case.
        queue = "?queue=unassigned" if language == "zh-hans" else ""
        page.goto(f"/admin/complaints/complaint/{queue}")
        page.fill("#searchbar", "张小明")
        page.press("#searchbar", "Enter")
        expect(page.locator("#result_list tbody tr")).to_have_count(3)
        _shots(page, f"queue-search-{language}")

        if language == "zh-hans":
            # One case is withdrawn meanwhile: the bulk take refuses it and says why.
            complaint_withdraw(complaint_id=cases[2].pk, actor=customer.user, reason="客户撤回")
            page.check("#action-toggle")
            page.select_option("select[name=action]", "bulk_take")
            page.click("button[name=index]")
            expect(page.locator("[data-testid=bulk-cases] tbody tr")).to_have_count(3)
            page.fill("#id_reason", "早班分配")
            _shots(page, f"bulk-take-{language}")
            page.click("#bulk-form input[type=submit]")
            expect(page.locator("ul.messagelist li")).to_have_count(3)
            _shots(page, f"bulk-take-done-{language}")
            assert Complaint.objects.filter(assignee=agent).count() == 2
        else:
            # Every case of the customer: the two taken, the withdrawn one; assign all three.
            expect(page.locator("#result_list")).to_contain_text(agent.username)
            page.check("#action-toggle")
            page.select_option("select[name=action]", "bulk_assign")
            page.click("button[name=index]")
            expect(page.locator("[data-testid=bulk-cases] tbody tr")).to_have_count(3)
            page.select_option("#id_assignee", str(agent.pk))
            page.fill("#id_reason", "reassigned after the morning review")
            _shots(page, f"bulk-assign-{language}")
            page.click("#bulk-form input[type=submit]")
            expect(page.locator("ul.messagelist li")).to_have_count(3)
            expect(page.locator("ul.messagelist")).to_contain_text(cases[2].reference)
            _shots(page, f"bulk-assign-done-{language}")

        page.goto("/admin/complaints/complaint/intake/")
        page.fill("#intake-find", "13912345678")
        page.press("#intake-find", "Enter")
        row = page.locator("[data-testid=intake-customer]")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("139****5678")
        _shots(page, f"intake-lookup-{language}")
        page.click(f"[data-testid=pick-{cases[0].account.number}]")
        expect(page.locator("#id_account_number")).to_have_value(cases[0].account.number)
        expect(page.locator("[data-testid=intake-chosen]")).to_contain_text("张小明")
        _shots(page, f"intake-chosen-{language}")
