"""Complaints referred by the regulator (issue 12 item 10): a channel of its own entered by
staff with the referral number and the regulator's deadline (the case's deadline is the
earlier), the reply to the regulator recorded with its delivery, and the monthly return."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.staff import staff_upsert
from backoffice.reports.regulatory import COLUMNS, return_rows
from complaints import clock, services
from complaints.enums import Category, Channel, RegulatorSource, Status
from complaints.models import Complaint
from complaints.services.common import recompute_due
from core.errors import ApplicationError
from tests.admin.conftest import PASSWORD, login
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    change_reasons,
    decide_all,
    event,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db


def _client(system_user, role: str, name: str):
    user, device = staff_upsert(
        actor=system_user, reason="test", username=name, role=role, password=PASSWORD
    )
    client = Client()
    assert login(client, user, device).status_code == 302
    return client, user


def _referral(account, loans, agent, *, due_in=timedelta(days=7), number="NFRA-2026-0042"):
    return services.complaint_submit(
        actor=agent,
        reason="referred by NFRA",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="监管转办：客户称未借款",
        channel=Channel.REGULATOR,
        account_id=account.pk,
        loan_record_ids=[loan.pk for loan in loans],
        referral=services.Referral(
            source=RegulatorSource.NFRA,
            number=number,
            due_at=timezone.now() + due_in if due_in else None,
        ),
    )


def _portal_complaint(account):
    return services.complaint_submit(
        actor=account.customer.user,
        reason="portal",
        customer=account.customer,
        category=Category.SERVICE,
        description="服务问题",
        channel=Channel.PORTAL,
        account_id=account.pk,
    )


def test_staff_intake_of_a_referral_takes_the_regulators_earlier_deadline(system_user):
    account, loans = account_with_loans(actor=system_user)
    client, agent = _client(system_user, "agent", "regulator_agent")
    regulator_due = timezone.localtime() + timedelta(days=5)
    resp = client.post(
        "/admin/complaints/complaint/intake/",
        {
            "channel": "regulator",
            "regulator_source": "hotline_12378",
            "referral_number": "12378-2026-123456",
            "regulator_due_at": regulator_due.strftime("%Y-%m-%dT%H:%M"),
            "account_number": account.number,
            "category": "unauthorized_loan",
            "loan_references": loans[0].reference,
            "description": "12378 转办：客户称未借款",
        },
    )
    assert resp.status_code == 302, resp.content[:2000]
    c = Complaint.objects.get()
    assert (c.channel, c.regulator_source, c.referral_number) == (
        Channel.REGULATOR,
        RegulatorSource.HOTLINE_12378,
        "12378-2026-123456",
    )
    assert c.regulator_due_at == regulator_due.replace(second=0, microsecond=0)
    assert c.due_at == c.regulator_due_at  # earlier than our 15 days
    assert c.due_at < clock.add_calendar_days(c.received_at, clock.DECISION_DAYS)
    assert c.history.first().history_user == agent
    assert change_reasons(c) == ["Entered by staff"]
    page = client.get(f"/admin/complaints/complaint/{c.pk}/change/").content.decode()
    assert 'data-testid="regulator-referral"' in page and "12378-2026-123456" in page


def test_staff_intake_form_asks_for_the_referral(system_user):
    account, _loans = account_with_loans(actor=system_user)
    client, _agent = _client(system_user, "agent", "regulator_agent2")
    base = {
        "account_number": account.number,
        "category": "service",
        "description": "转办",
    }
    resp = client.post("/admin/complaints/complaint/intake/", {**base, "channel": "regulator"})
    assert resp.status_code == 200
    errors = resp.context["form"].errors
    assert set(errors) == {"regulator_source", "referral_number"}
    resp = client.post(
        "/admin/complaints/complaint/intake/",
        {**base, "channel": "phone", "referral_number": "X-1"},
    )
    assert resp.status_code == 200 and "channel" in resp.context["form"].errors
    assert not Complaint.objects.exists()


def test_a_later_regulator_deadline_leaves_ours_and_caps_an_extension(system_user):
    account, loans = account_with_loans(actor=system_user)
    agent = staff("agent")
    c = _referral(account, loans, agent, due_in=timedelta(days=20))
    ours = clock.add_calendar_days(c.received_at, clock.DECISION_DAYS)
    assert c.due_at == ours
    services.complaint_assign(complaint_id=c.pk, assignee=agent, actor=agent, reason="take")
    services.complaint_extend(complaint_id=c.pk, actor=agent, reason="need documents")
    c.refresh_from_db()
    assert c.clock_days == clock.EXTENDED_DAYS
    assert c.due_at == c.regulator_due_at  # not our 30 days: the regulator's 20
    # recompute_due itself: the earlier of the two, whatever the order.
    c.regulator_due_at = None
    recompute_due(c)
    assert c.due_at == clock.add_calendar_days(c.received_at, clock.EXTENDED_DAYS)


def test_intake_refuses_an_incomplete_or_misplaced_referral(system_user):
    account, loans = account_with_loans(actor=system_user)
    agent = staff("agent")
    with pytest.raises(ApplicationError) as exc:
        _referral(account, loans, agent, number="  ")
    assert exc.value.fields == {"referral_number": ["请填写监管部门的转办编号。"]}
    with pytest.raises(ApplicationError) as exc:
        _referral(account, loans, agent, due_in=-timedelta(hours=1))
    assert set(exc.value.fields) == {"regulator_due_at"}
    with pytest.raises(ApplicationError) as exc:
        services.complaint_submit(
            actor=agent,
            reason="r",
            customer=account.customer,
            category=Category.SERVICE,
            description="x",
            channel=Channel.REGULATOR,
            account_id=account.pk,
        )
    assert set(exc.value.fields) == {"referral_number"}
    with pytest.raises(ApplicationError) as exc:  # a customer cannot file as the regulator
        _referral(account, loans, account.customer.user)
    assert exc.value.code == "forbidden"
    assert not Complaint.objects.exists()


def test_reply_to_the_regulator_recorded_with_its_delivery(system_user):
    account, loans = account_with_loans(actor=system_user)
    agent = staff("agent")
    c = _referral(account, loans, agent)
    delivered = timezone.now()
    reply = {
        "text": "经核查，该笔借款无授权记录，已撤销。",
        "channel": "portal",
        "delivered_at": delivered,
        "proof": "NFRA-RCPT-9",
    }
    with pytest.raises(ApplicationError) as exc:  # not before the case has its answer
        services.regulator_reply_record(complaint_id=c.pk, actor=agent, reason="reply", **reply)
    assert exc.value.code == "not_decided"
    decide_all(c, agent)
    c.refresh_from_db()
    assert c.status == Status.DECIDED
    with pytest.raises(ApplicationError) as exc:
        services.regulator_reply_record(
            complaint_id=c.pk,
            actor=agent,
            reason="reply",
            **{**reply, "text": " ", "delivered_at": timezone.now() + timedelta(hours=1)},
        )
    assert set(exc.value.fields) == {"text", "delivered_at"}
    mark = last_event_pk(c)
    services.regulator_reply_record(
        complaint_id=c.pk, actor=agent, reason="answered NFRA through its system", **reply
    )
    c.refresh_from_db()
    assert (
        c.regulator_reply,
        c.regulator_reply_channel,
        c.regulator_reply_delivered_at,
        c.regulator_reply_proof,
        c.regulator_replied_by,
    ) == (reply["text"], "portal", delivered, "NFRA-RCPT-9", agent)
    assert case_events(c, after=mark) == [
        event("regulator_replied", agent.pk, visible=False, text="answered NFRA through its system")
    ]
    assert c.events.order_by("-pk").first().at == delivered
    assert change_reasons(c)[-1] == "answered NFRA through its system"
    assert c.history.order_by("history_id").last().history_user == agent
    with pytest.raises(ApplicationError) as exc:
        services.regulator_reply_record(complaint_id=c.pk, actor=agent, reason="again", **reply)
    assert exc.value.code == "already_replied"
    other = _portal_complaint(account)
    with pytest.raises(ApplicationError) as exc:
        services.regulator_reply_record(complaint_id=other.pk, actor=agent, reason="r", **reply)
    assert exc.value.code == "not_a_referral"


def test_reply_through_the_admin_action(system_user):
    account, loans = account_with_loans(actor=system_user)
    client, agent = _client(system_user, "agent", "regulator_agent3")
    c = _referral(account, loans, agent)
    decide_all(c, agent)
    page = client.get(f"/admin/complaints/complaint/{c.pk}/change/").content.decode()
    assert 'data-testid="act-regulator_reply"' in page
    url = f"/admin/complaints/complaint/{c.pk}/act/regulator_reply/"
    delivered = timezone.localtime()
    resp = client.post(
        url,
        {
            "text": "已答复",
            "channel": "letter",
            "delivered_at": delivered.strftime("%Y-%m-%dT%H:%M"),
            "proof": "EMS123",
            "reason": "letter to NFRA",
        },
    )
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.regulator_reply_channel == "letter" and c.regulator_reply_proof == "EMS123"
    assert change_reasons(c)[-1] == "letter to NFRA"
    page = client.get(f"/admin/complaints/complaint/{c.pk}/change/").content.decode()
    assert 'data-testid="act-regulator_reply"' not in page and "EMS123" in page


def test_referrals_appear_in_the_regulatory_return(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("10.00", "20.00"))
    agent = staff("agent")
    _referral(account, loans[:1], agent, number="A-1")
    _referral(account, loans[1:], agent, number="A-2")
    _portal_complaint(account)  # not a referral
    now = timezone.now()
    rows = return_rows(clock.local_date(now).replace(day=1), now)
    col = COLUMNS.index("regulator_referrals")
    cells = {(r[1], r[2]): r[col] for r in rows}
    assert cells[("regulator", "unauthorized_loan")] == 2
    assert sum(cells.values()) == 2
    assert {r[1] for r in rows} >= {"regulator", "portal"}
