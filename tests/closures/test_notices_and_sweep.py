"""Closure notices in both languages; the sweep takes closures into effect and escalates appeals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from closures import services
from closures.sweeps import closures_sweep
from notices.models import Notice
from notices.render import notice_render
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, proposed

pytestmark = pytest.mark.django_db

CONTEXT = {
    "closure_id": 7,
    "reason_label": "Repeatedly overdue",
    "explanation": "Overdue four times.",
    "account": "**** 1234",
    "outstanding_balance": "120.00",
    "effective_at": timezone.now(),
    "appeal_deadline": timezone.now() + timedelta(days=30),
    "appeal_link": "http://x/portal/appeals/new/?closure=7",
    "portal_link": "http://x/portal/accounts/1/",
    "reported": True,
}


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["credit bureau", "usual schedule", "stay readable", "appeal by", "?closure=7"]),
        ("zh-hans", ["征信", "还款计划", "保留", "申诉", "?closure=7"]),
    ],
)
def test_closure_notice_says_why_what_and_how_to_appeal(language, words):
    subject, body = notice_render(event="closure.notice", language=language, context=CONTEXT)
    assert subject
    for word in words:
        assert word in body
    assert "Overdue four times." in body and "120.00" in body


def test_sweep_takes_effect_and_escalates_overdue_appeals(agent, reviewer, system_user):
    account = CreditAccountFactory()
    closure = proposed(account=account, proposer=agent)
    services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")
    closure.refresh_from_db()
    result = closures_sweep(now=closure.effective_at + timedelta(seconds=1))
    assert result["took_effect"] == 1
    closure.refresh_from_db()
    appeal = services.appeal_file(actor=account.customer.user, closure_id=closure.pk, grounds="x")
    later = appeal.due_at + timedelta(minutes=1)
    assert closures_sweep(now=later)["appeals_escalated"] == 1
    assert closures_sweep(now=later)["appeals_escalated"] == 0  # once
    assert Notice.objects.filter(event="staff.appeal_overdue").exists()


def test_sweep_withdraws_unconfirmed_requests(system_user):
    account = CreditAccountFactory()
    closure = services.closure_request_by_customer(
        actor=account.customer.user, account_id=account.pk
    )
    assert closures_sweep(now=timezone.now() + timedelta(hours=25))["expired"] == 1
    closure.refresh_from_db()
    assert closure.status == "withdrawn"


def test_closed_account_history_stays_readable(client, agent, reviewer, system_user):
    account = CreditAccountFactory()
    closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    client.force_login(account.customer.user)
    assert client.get(f"/portal/accounts/{account.pk}/").status_code == 200
    assert client.get("/portal/messages/").status_code == 200
