"""The walk in a real browser: a risk officer proposes suspending an interface after an incident
alert; a manager approves it in another browser, entering a fresh one-time code on the step-up
page first; the interface page then says it is suspended. Screenshots (desktop and a 390x844
phone, zh-hans and en) go to /tmp/shots/regh/."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

import pytest
from django.conf import settings

from accounts.enums import PartnerChangeStatus, PartnerInterfaceStatus
from accounts.models import PartnerInterfaceChange
from tests.admin.conftest import browser_sign_in, totp_now

from .conftest import register

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots/regh")


def _drop_stepup(page) -> None:
    """Move the signed-in browser to a copy of its session under a new key: the TOTP sign-in
    counts as a step-up only for the session it opened, so this one has no fresh code."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    cookies = page.context.cookies()
    old = next(c for c in cookies if c["name"] == settings.SESSION_COOKIE_NAME)
    data = store(session_key=old["value"]).load()
    new = store()
    new.update(data)
    new.create()
    page.context.add_cookies([{**old, "value": new.session_key}])


def _shots(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = page.url.split("?")[0]
    for lang in ("zh-hans", "en"):
        page.goto(f"{url}?lang={lang}")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{url}?lang=zh-hans")


def test_suspension_proposed_and_approved_with_a_fresh_code(
    page, _playwright_browser, live_server, make_staff
):
    officer, officer_device = make_staff("risk_officer")
    manager, manager_device = make_staff("manager")
    interface = register(manager, code="PI-QUICKCASH-V1", partner="速贷通小额现金")
    url = f"/admin/accounts/partnerinterface/{interface.pk}/change/"

    browser_sign_in(page, officer, officer_device, url)
    page.click("[data-testid=propose-suspend]")
    page.wait_for_url("**/propose/suspend/")
    _shots(page, "propose")
    page.fill("textarea[name=reason]", "事件预警：24 小时内 6 起未授权借款投诉经由该接口")
    page.click("#partner-form input[type=submit]")
    page.wait_for_url(f"**{url}")
    assert page.locator("[data-testid=pending-change]").count() == 1
    assert page.locator("[data-testid=approve-change]").count() == 0  # not the proposer's
    change = PartnerInterfaceChange.objects.get()
    assert change.proposed_by == officer

    context = _playwright_browser.new_context(base_url=live_server.url, locale="zh-CN")
    other = context.new_page()
    try:
        browser_sign_in(other, manager, manager_device, url)
        _drop_stepup(other)
        other.click("[data-testid=approve-change]")
        other.wait_for_url("**/admin/stepup/**")
        other.fill("#id_otp_token", totp_now(manager_device))
        other.click("#stepup-form input[type=submit]")
        other.wait_for_url(f"**/changes/{change.pk}/approve/")
        other.fill("textarea[name=reason]", "调用日志已核实，先暂停")
        other.click("#partner-form input[type=submit]")
        other.wait_for_url(f"**{url}")
        interface.refresh_from_db()
        change.refresh_from_db()
        assert interface.status == PartnerInterfaceStatus.SUSPENDED
        assert (change.status, change.decided_by) == (PartnerChangeStatus.APPROVED, manager)
        other.goto(f"{url}?lang=en")
        assert other.inner_text("[data-testid=status-value]") == "Suspended"
        assert other.locator("[data-testid=propose-resume]").count() == 1
        _shots(other, "interface")
        other.goto("/admin/accounts/partnerinterface/")
        _shots(other, "register")
    finally:
        context.close()
