"""The portal's main flow in a real browser (Playwright + Debian chromium): sign in, accounts,
an account's loans, messages; zh-hans first, then English through the switch, which is
remembered across pages. A screenshot is saved under test-results/ on failure (conftest)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories.portal import PASSWORD, customer_with_account, portal_notice

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_flow_in_both_languages(page):
    customer, account, loans = customer_with_account(username="alice-b", loans=25, name="王小丽")
    portal_notice(user=customer.user, subject="<b>投诉已受理</b>", body="我们已收到您的投诉。")

    # Sign in (zh-hans by default)
    page.goto("/portal/login/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.fill("input[name=username]", customer.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.locator("[data-testid=customer-name]")).to_have_text("王小丽")
    expect(page.locator("[data-testid=language-switch]")).to_contain_text("English")

    # Accounts -> one account's loans, newest first, paged
    page.click(f"[data-testid=account-{account.pk}] a.title")
    expect(page).to_have_url(re.compile(rf"/portal/accounts/{account.pk}/$"))
    rows = page.locator("[data-testid=loan-table] tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first).to_contain_text(loans[-1].reference)
    expect(rows.first.locator("a.dispute")).to_have_attribute(
        "href",
        f"/portal/complaints/new/?category=unauthorized_loan&account={account.pk}"
        f"&loan_records={loans[-1].pk}",
    )
    page.click("[data-testid=older]")
    expect(rows).to_have_count(5)
    expect(rows.last).to_contain_text(loans[0].reference)

    # Messages: the HTML in the subject is shown as text
    page.click("[data-testid=nav-messages]")
    expect(page.locator("[data-testid=inbox]")).to_contain_text("<b>投诉已受理</b>")
    expect(page.locator("[data-testid=inbox]")).to_contain_text("我们已收到您的投诉。")

    # Switch to English: remembered on the next pages
    page.click("[data-testid=language-switch] a")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Messages")
    page.click("[data-testid=nav-accounts]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("My accounts")
    page.click(f"[data-testid=account-{account.pk}] a.title")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-testid=loan-table] thead")).to_contain_text("Amount")
    expect(page.locator("[data-testid=language-switch]")).to_contain_text("中文")

    # The stylesheet is served by the app itself
    css = page.request.get("/static/portal/portal.css")
    assert css.ok

    # Sign out
    page.click("[data-testid=logout]")
    expect(page).to_have_url(re.compile(r"/portal/login/$"))


def test_another_customers_account_is_not_found_in_the_browser(page):
    customer, _, _ = customer_with_account(username="alice-c")
    _, other_account, _ = customer_with_account(username="mallory-c", loans=1)
    page.goto("/portal/login/")
    page.fill("input[name=username]", customer.user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=login-submit]")
    expect(page).to_have_url(re.compile(r"/portal/$"))
    response = page.goto(f"/portal/accounts/{other_account.pk}/")
    assert response.status == 404
