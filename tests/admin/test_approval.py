"""The reviewer's approval page (issue 13 item 1): it shows exactly what is approved, the
step-up code is asked before the reviewer types, and a post whose code went stale keeps what
was typed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from complaints import services
from complaints.enums import ItemOutcome, RootCause, Status
from complaints.models import Complaint
from core.models import StaffTOTPDevice, StepUpVerification
from tests.factories.complaints import account_with_loans, dispute

from .conftest import totp_now, without_stepup

pytestmark = pytest.mark.django_db

DECISION_TEXT = "经核查，两笔借款均无授权记录，予以撤销。"


def pending_case(system_user, agent) -> Complaint:
    """Two disputed records drafted by `agent` (one upheld, one rejected), ¥50.00 compensation,
    a draft reason and an internal note: waiting for approval."""
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "199.00"))
    complaint = dispute(account=account, loans=loans)
    services.complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent, reason="t")
    services.complaint_note_add(complaint_id=complaint.pk, actor=agent, text="合作方日志已调取")
    first, second = complaint.items.order_by("pk")
    services.complaint_decide(
        complaint_id=complaint.pk,
        actor=agent,
        reason="请重点看第一笔的设备",
        decision_text=DECISION_TEXT,
        root_cause=RootCause.MISSING_CONSENT,
        item_decisions=[
            services.ItemDecision(item_id=first.pk, outcome=ItemOutcome.UPHELD, reasons="无授权"),
            services.ItemDecision(
                item_id=second.pk, outcome=ItemOutcome.REJECTED, reasons="本人设备"
            ),
        ],
        compensation_amount=Decimal("50.00"),
        compensation_reason="风险赔付",
    )
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL
    return complaint


def _url(complaint: Complaint) -> str:
    return f"/admin/complaints/complaint/{complaint.pk}/act/approve/"


def _en(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def test_the_approval_page_shows_exactly_what_is_approved(staff_client, system_user):
    _agent_client, agent, _ = staff_client("agent")
    complaint = pending_case(system_user, agent)
    client, _reviewer, _ = staff_client("reviewer")  # just signed in: the code is fresh
    response = _en(client).get(_url(complaint))
    assert response.status_code == 200
    body = response.content.decode()
    records = body.split('data-testid="decision-records"', 1)[1]
    first, second = complaint.items.select_related("loan").order_by("pk")
    for item, amount, outcome, reasons in (
        (first, "¥6,000.00", "Upheld", "无授权"),
        (second, "¥199.00", "Rejected", "本人设备"),
    ):
        row = records.split(f'data-testid="disputed-{item.loan.reference}"', 1)[1]
        row = row.split("</tr>", 1)[0]
        assert amount in row and outcome in row and reasons in row
        assert 'data-testid="no-authorization"' in row  # the evidence, beside the outcome
    summary = body.split('data-testid="decision-summary"', 1)[1].split("</table>", 1)[0]
    assert DECISION_TEXT in summary
    assert "¥50.00" in summary and "风险赔付" in summary  # the compensation
    assert "¥6,000.00" in summary  # the upheld total
    assert "Missing consent record" in summary
    assert agent.username in summary and "请重点看第一笔的设备" in summary  # the drafter's notes
    assert "合作方日志已调取" in body.split('data-testid="decision-notes"', 1)[1]
    assert 'name="reason"' in body


def test_the_code_is_asked_before_the_page_and_the_reviewer_comes_back(staff_client, system_user):
    _agent_client, agent, _ = staff_client("agent")
    complaint = pending_case(system_user, agent)
    client, reviewer, device = staff_client("reviewer")
    without_stepup(client)  # the sign-in's code belongs to another session now
    response = client.get(_url(complaint))
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"/admin/stepup/?next=%2Fadmin%2Fcomplaints%2Fcomplaint%2F{complaint.pk}%2Fact%2Fapprove%2F"
    )
    response = client.post(response["Location"], {"otp_token": totp_now(device)})
    assert response.status_code == 302 and response["Location"] == _url(complaint)
    assert client.get(_url(complaint)).status_code == 200
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL  # seeing the page approves nothing


def test_a_stale_post_keeps_the_reason_and_takes_a_code_in_place(staff_client, system_user):
    _agent_client, agent, _ = staff_client("agent")
    complaint = pending_case(system_user, agent)
    client, reviewer, device = _en_staff(staff_client)
    without_stepup(client)  # the page was opened, then the code went stale
    reason = "核对了两笔的授权轨迹，同意。"
    response = client.post(_url(complaint), {"reason": reason})
    assert response.status_code == 200
    body = response.content.decode()
    assert reason in body and 'data-testid="stepup-inline"' in body
    assert "more than 15 minutes old" in body
    assert DECISION_TEXT in body  # still shows what is approved
    response = client.post(_url(complaint), {"reason": reason, "otp_token": "000000"})
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert "That code is not valid" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL
    response = client.post(_url(complaint), {"reason": reason, "otp_token": totp_now(device)})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/complaints/complaint/{complaint.pk}/change/"
    complaint.refresh_from_db()
    assert complaint.status == Status.DECIDED and complaint.approved_by == reviewer
    assert reason in list(complaint.history.values_list("history_change_reason", flat=True))
    assert StepUpVerification.objects.filter(
        user=reviewer, session_key=client.session.session_key
    ).exists()


def _en_staff(staff_client):
    client, user, device = staff_client("reviewer")
    return _en(client), user, device


def test_a_throttled_code_says_wait_not_invalid(staff_client, system_user):
    _agent_client, agent, _ = staff_client("agent")
    complaint = pending_case(system_user, agent)
    client, reviewer, device = _en_staff(staff_client)
    without_stepup(client)
    code = totp_now(device)
    wrong = client.post("/admin/stepup/", {"otp_token": "000000"})
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    # Five wrong codes in a row (as django-otp counts them): the device is held 16 seconds.
    StaffTOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=5, throttling_failure_timestamp=timezone.now()
    )
    device = StaffTOTPDevice.objects.get(pk=device.pk)
    assert not device.verify_is_allowed()[0]
    response = client.post("/admin/stepup/", {"otp_token": code})
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors().as_data()
    assert [e.code for e in errors] == ["throttled"]
    body = response.content.decode()
    assert "wait a moment" in body and "not valid" not in body
    # The same on the approval page's own code box, with the reason kept.
    response = client.post(_url(complaint), {"reason": "同意", "otp_token": code})
    assert response.status_code == 200
    body = response.content.decode()
    assert "wait a moment" in body and "同意" in body
    complaint.refresh_from_db()
    assert complaint.status == Status.PENDING_APPROVAL


def test_the_drafter_gets_no_approval_page(staff_client, system_user):
    agent_client, agent, _ = staff_client("agent")
    complaint = pending_case(system_user, agent)
    assert agent_client.get(_url(complaint)).status_code == 403
