"""Issue 13 items 12-14 in a real browser (Playwright + Debian chromium): "my account may be
compromised" lands on a page that leads to a new password; a reset by one-time code; a 6 MB
attachment refused before sending with the grounds kept; the character counter that never cuts.

PORTAL_SHOTS=<dir> saves screenshots (desktop and 390x844) of each page there."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import User
from closures.models import Appeal
from core import crypto
from notices.models import Notice
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, staff
from tests.factories.portal import PASSWORD, customer_with_account

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "lantern-harbour-42"
SHOTS = os.environ.get("PORTAL_SHOTS", "")


def shot(page, name: str) -> None:
    """Screenshots for a person to look at: desktop, then a 390x844 phone."""
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=f"{SHOTS}/{name}-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=f"{SHOTS}/{name}-phone.png", full_page=True)
    page.set_viewport_size(size)


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("[data-testid=login-submit]")


@pytest.fixture(autouse=True)
def _quick_reset(settings):
    settings.PASSWORD_RESET_MIN_SECONDS = 0
    extra = os.environ.get("PORTAL_EXTRA_LOCALE")  # a catalog with msgids not yet merged
    if extra:
        settings.LOCALE_PATHS = [extra, *settings.LOCALE_PATHS]


def test_compromised_account_leads_to_a_new_password(page):
    customer, account, _ = customer_with_account(name="王小丽")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/portal/login/?next=/portal/complaints/new/")
    sign_in(page, customer.user.username)
    page.wait_for_url("**/portal/complaints/new/")
    page.select_option("select[name=category]", "other")
    page.select_option("select[name=account]", str(account.pk))
    page.fill("textarea[name=description]", "我收到一条陌生的登录短信，怀疑账户被盗用。")
    page.check("input[name=account_compromised]")
    page.click("[data-testid=submit-complaint]")

    page.wait_for_url("**/portal/account-secured/?complaint=*")
    expect(page.locator("[data-testid=account-secured]")).to_be_visible()
    expect(page.locator("[data-testid=customer-name]")).to_have_count(0)  # signed out
    shot(page, "account-secured-zh")
    page.click("[data-testid=secured-change-password]")
    page.wait_for_url("**/portal/login/?next=/portal/password/")
    sign_in(page, customer.user.username)
    page.wait_for_url("**/portal/password/")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "123")
    page.fill("#id_new_password2", "123")
    page.click("[data-testid=password-change-submit]")
    expect(page.locator("[data-testid=error-summary]")).to_be_focused()
    shot(page, "password-change-errors-zh")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("[data-testid=password-change-submit]")
    page.wait_for_url(re.compile(r"/portal/$"))
    assert User.objects.get(pk=customer.user.pk).check_password(NEW_PASSWORD)


def test_password_reset_by_code_in_english(page):
    customer, _, _ = customer_with_account()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/portal/login/?lang=en")
    page.click("[data-testid=forgot-password]")
    page.wait_for_url("**/portal/password-reset/")
    page.fill("#id_username", customer.phone)
    shot(page, "password-reset-en")
    page.click("[data-testid=password-reset-submit]")
    page.wait_for_url("**/portal/password-reset/code/")
    notice = Notice.objects.get(recipient=customer.user, event="accounts.password_reset_code")
    code = re.search(r"\d{6}", crypto.decrypt(notice.sealed_body)).group(0)
    page.fill("#id_code", "000000")
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("[data-testid=password-reset-code-submit]")
    expect(page.locator("[data-testid=field-error-code]")).to_have_text("This code is not correct.")
    shot(page, "password-reset-wrong-code-en")
    page.fill("#id_code", code)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.click("[data-testid=password-reset-code-submit]")
    page.wait_for_url("**/portal/login/")
    sign_in(page, customer.user.username, NEW_PASSWORD)
    page.wait_for_url(re.compile(r"/portal/$"))


def test_large_attachment_refused_before_sending_and_counter(page, system_user):
    account = CreditAccountFactory()
    closure = closed_by_risk(
        account=account, proposer=staff("agent"), approver=staff("reviewer"), actor=system_user
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/portal/login/?next=/portal/appeals/new/?closure={closure.pk}")
    sign_in(page, account.customer.user.username)
    page.wait_for_url("**/portal/appeals/new/*")
    grounds = "我每期都按时还款，逾期记录有误。"
    page.fill("textarea[name=grounds]", grounds)
    counter = page.locator("[data-testid=counter-grounds]")
    expect(counter).to_contain_text(f"{len(grounds)}")
    page.set_input_files(
        "input[name=attachment]",
        files=[
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"0" * (6 * 1024 * 1024)}
        ],
    )
    expect(page.locator("[data-testid=file-too-large]")).to_be_visible()
    shot(page, "appeal-file-too-large-zh")
    # Sending is refused while the file is chosen: nothing is filed, the message stays.
    page.click("[data-testid=submit-appeal]")
    page.wait_for_timeout(300)
    assert "/appeals/new/" in page.url and not Appeal.objects.filter(closure=closure).exists()
    expect(page.locator("[data-testid=file-too-large]")).to_be_visible()
    # Without the file, the appeal goes, grounds whole.
    page.set_input_files("input[name=attachment]", files=[])
    expect(page.locator("[data-testid=file-too-large]")).to_have_count(0)
    page.click("[data-testid=submit-appeal]")
    page.wait_for_url("**/portal/appeals/AP*/")
    appeal = Appeal.objects.get(closure=closure)
    assert appeal.grounds == grounds and not appeal.attachment

    # The complaint form's 4,000 limit: counted, never cut.
    page.goto("/portal/complaints/new/")
    text = "字" * 4005
    page.fill("textarea[name=description]", text)
    expect(page.locator("[data-testid=counter-description]")).to_have_class(re.compile("over"))
    assert len(page.input_value("textarea[name=description]")) == 4005
    page.select_option("select[name=category]", "other")
    page.click("[data-testid=submit-complaint]")
    expect(page.locator("[data-testid=field-error-description]")).to_be_visible()
    assert len(page.input_value("textarea[name=description]")) == 4005
    shot(page, "complaint-too-long-zh")
    page.goto("/portal/no-such-page/")
    expect(page.locator("[data-testid=error-404]")).to_be_visible()
    shot(page, "404-zh")
    page.goto("/portal/no-such-page/?lang=en")
    shot(page, "404-en")


def test_closure_code_page_tells_its_three_actions_apart(page):
    customer, account, _ = customer_with_account()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"/portal/login/?next=/portal/accounts/{account.pk}/close/")
    sign_in(page, customer.user.username)
    page.wait_for_url("**/close/")
    page.check("input[name=channel][value=sms]")
    page.check("input[name=understood]")
    shot(page, "close-request-zh")
    page.click("[data-testid=send-code]")
    page.wait_for_url("**/confirm/")
    colours = {
        testid: page.eval_on_selector(
            f"[data-testid={testid}]", "b => getComputedStyle(b).backgroundColor"
        )
        for testid in ("confirm-closure", "resend-code", "cancel-request")
    }
    assert colours["confirm-closure"] != colours["resend-code"]  # 确认销户 stands out
    assert colours["resend-code"] == colours["cancel-request"] == "rgb(255, 255, 255)"
    heights = [
        page.eval_on_selector(f"[data-testid={t}]", "b => b.getBoundingClientRect().height")
        for t in colours
    ]
    assert min(heights) >= 44  # tappable
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.eval_on_selector(
        "[data-testid=confirm-closure]", "b => b.getBoundingClientRect().width"
    )
    assert width > 300  # full width on a phone
    page.set_viewport_size({"width": 1280, "height": 900})
    shot(page, "closure-confirm-zh")
