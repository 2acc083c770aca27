"""A policy closure campaign in a real browser: a manager creates a `product_change` campaign over
the accounts with a cash loan and submits it; a reviewer steps up, reads what they approve and
approves it; the run (the worker's task, called here) writes the closures and the page shows the
progress. Screenshots (desktop and a 390x844 phone, zh-hans and en) go to /tmp/shots/campi/."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.enums import Language, LoanKind
from accounts.staff import staff_upsert
from backoffice.roles import roles_sync
from closures.enums import CampaignStatus
from closures.models import ClosureCampaign, ClosureRequest
from closures.services import campaigns
from tests.admin.conftest import PASSWORD, browser_sign_in
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/campi")
PHONE = {"width": 390, "height": 844}


def _shots(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_create_approve_and_follow_a_campaign(page, _playwright_browser, live_server, system_user):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for language in (Language.ZH_HANS, Language.EN, Language.ZH_HANS):
        account = CreditAccountFactory(customer=CustomerFactory(preferred_language=language))
        LoanRecordFactory(account=account, kind=LoanKind.CASH)
    roles_sync()
    manager, mdevice = staff_upsert(
        actor=system_user, reason="test", username="camp-manager", role="manager", password=PASSWORD
    )
    reviewer, rdevice = staff_upsert(
        actor=system_user, reason="test", username="camp-reviewer", role="reviewer",
        password=PASSWORD,
    )  # fmt: skip

    browser_sign_in(page, manager, mdevice, "/admin/closures/closurecampaign/")
    page.click("[data-testid=campaign-new]")
    page.wait_for_url("**/closurecampaign/create/")
    page.fill("#id_title", "现金借款产品下线")
    page.select_option("#id_closure_reason", "product_change")
    page.select_option("#id_loan_kind", "cash")
    page.fill("#id_explanation_zh", "因产品调整，现金借款产品停止服务，您的账户将被关闭。")
    page.fill("#id_explanation_en", "We are retiring the cash loan product; your account closes.")
    page.fill("#id_reason", "产品下线")
    page.click("input[type=submit]")
    page.wait_for_url("**/change/")
    assert page.inner_text("[data-testid=campaign-matched]") == "3"
    assert page.locator("[data-testid=campaign-sample] tbody tr").count() == 3
    _shots(page, "campaign-draft-zh")
    page.click("[data-testid=campaign-submit]")
    page.fill("#id_reason", "已核对名单")
    page.click("[data-testid=campaign-confirm]")
    page.wait_for_url("**/change/")
    campaign = ClosureCampaign.objects.get()
    assert campaign.status == CampaignStatus.PENDING_APPROVAL

    # The reviewer, in English.
    context = _playwright_browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(15_000)
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    rpage = context.new_page()
    change = f"/admin/closures/closurecampaign/{campaign.pk}/change/"
    browser_sign_in(rpage, reviewer, rdevice, change)
    # The sign-in's code counts as the step-up for its session (core/stepup.py); the redirect
    # to the code page without one is held by test_campaigns.py's admin walk.
    rpage.click("[data-testid=campaign-approve]")
    rpage.wait_for_url("**/approve/")
    assert "retiring the cash loan product" in rpage.content()
    _shots(rpage, "campaign-approve-en")
    rpage.fill("#id_reason", "segment and texts checked")
    rpage.click("[data-testid=campaign-confirm]")
    rpage.wait_for_url("**/change/")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.APPROVED and campaign.approved_by == reviewer

    campaigns.campaign_run(campaign_id=campaign.pk)  # what the worker's task does
    rpage.reload()
    assert rpage.inner_text("[data-testid=campaign-proposed]") == "3 / 3"
    assert rpage.inner_text("[data-testid=campaign-status]") == "Done"
    assert ClosureRequest.objects.filter(campaign=campaign).count() == 3
    _shots(rpage, "campaign-done-en")
    page.reload()
    _shots(page, "campaign-done-zh")
    context.close()
