"""The seed's story in a real browser: a customer sees a loan they never made and disputes it;
the agent sees there is no authorization record and upholds it; a reviewer approves with a
fresh one-time code; the loan is reversed and the credit-report correction opened; the customer
reads the decision in the portal and in the email."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.enums import LoanStatus
from accounts.models import CreditReportCorrection
from backoffice.roles import roles_sync
from complaints import services
from complaints.enums import ItemOutcome, RootCause
from complaints.evidence import evidence_for_loans
from complaints.models import Complaint
from notices.models import Notice
from notices.services import notice_send
from tests.factories.complaints import account_with_loans, fresh_stepup, staff

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_disputes_a_loan_and_reads_the_decision(page, system_user):
    roles_sync()
    account, loans = account_with_loans(actor=system_user, amounts=("120.00", "6000.00"))
    ghost = loans[1]
    user = account.customer.user
    user.set_password("cust-pass-123")
    user.save()

    page.goto("/portal/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "cust-pass-123")
    page.click("[data-testid=login-submit]")
    page.goto(f"/portal/accounts/{account.pk}/")
    page.locator(f"[data-testid=loan-{ghost.pk}] a.dispute").click()
    page.wait_for_url("**/portal/complaints/new/**")
    # prefilled from the loan's "did not make this" action
    assert page.locator(f"input[name=loan_records][value='{ghost.pk}']").is_checked()
    assert page.locator("select[name=category]").input_value() == "unauthorized_loan"
    page.fill("textarea[name=description]", "我从未在这家商户消费，也没有申请过这笔借款。")
    page.click("[data-testid=submit-complaint]")
    page.wait_for_url("**/portal/complaints/CP*/")
    reference = page.inner_text("[data-testid=reference]")
    assert reference.startswith("CP")
    ghost.refresh_from_db()
    assert ghost.status == LoanStatus.DISPUTED

    complaint = Complaint.objects.get(reference=reference)
    assert evidence_for_loans(loans=[ghost])[0].no_authorization
    agent, reviewer = staff("agent"), staff("reviewer")
    services.complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent, reason="t")
    services.complaint_decide(
        complaint_id=complaint.pk,
        actor=agent,
        reason="no authorization record",
        decision_text="经核查，该笔借款没有任何授权记录（授权记录缺失），予以撤销并更正征信。",
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[
            services.ItemDecision(complaint.items.get().pk, ItemOutcome.UPHELD, "授权记录缺失")
        ],
    )
    fresh_stepup(reviewer)
    services.complaint_decision_approve(complaint_id=complaint.pk, actor=reviewer, reason="ok")
    ghost.refresh_from_db()
    assert ghost.status == LoanStatus.REVERSED
    assert CreditReportCorrection.objects.filter(loan=ghost, kind="correction").exists()

    email = Notice.objects.get(event="complaint.decided", channel="email")
    notice_send(notice_id=email.pk)
    assert any("授权记录缺失" in m.body for m in mail.outbox)

    page.reload()
    assert page.inner_text("[data-testid=decision]").count("授权记录缺失") >= 1
    assert Complaint.objects.get(pk=complaint.pk).status == "decided"
    assert page.locator("[data-testid=review-form]").count() == 1
    page.goto("/portal/messages/")
    assert reference in page.content()
