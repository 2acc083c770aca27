"""The seed's appeal story in a real browser: a customer whose account was closed for `overdue`
appeals with a PDF through the portal form; a manager upholds it; the portal shows the account
active again with its old limit."""

from __future__ import annotations

import pytest

from closures import services
from closures.models import Appeal
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, staff

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PASSWORD = "test-pass-123"  # UserFactory's


def test_customer_appeals_in_the_portal_and_manager_upholds(page, system_user, settings):
    account = CreditAccountFactory(overdue_count=4)
    closure = closed_by_risk(
        account=account, proposer=staff("agent"), approver=staff("reviewer"), actor=system_user
    )
    user = account.customer.user

    page.goto("/portal/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_url("**/portal/")
    page.goto(f"/portal/accounts/{account.pk}/")
    assert page.locator(".status-closed").count() >= 1
    page.click("[data-testid=appeal]")
    page.wait_for_url(f"**/portal/appeals/new/?closure={closure.pk}")
    page.fill("textarea[name=grounds]", "我每期都按时还款，逾期记录有误。")
    page.set_input_files(
        "input[name=attachment]",
        files=[{"name": "bank-statement.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("[data-testid=submit-appeal]")
    page.wait_for_url("**/portal/appeals/AP*/")
    appeal = Appeal.objects.get(closure=closure)
    assert page.inner_text("[data-testid=appeal-reference]") == appeal.reference
    assert appeal.attachment_content_type == "application/pdf"
    assert page.locator("[data-testid=appeal-attachment]").count() == 1

    services.appeal_decide(
        actor=staff("manager"),
        appeal_id=appeal.pk,
        outcome="upheld",
        decision_text="经核实逾期记录有误，恢复您的账户。",
        reason="overdue count was wrong",
    )
    page.reload()
    assert "经核实逾期记录有误" in page.inner_text("[data-testid=appeal-decision]")
    page.goto(f"/portal/accounts/{account.pk}/")
    assert page.locator("[data-testid=account-status].status-active").count() == 1
    assert "20,000.00" in page.content() or "20000.00" in page.content()
