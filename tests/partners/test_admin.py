"""The register's admin pages: the interface page (figures, incidents, proposals, history), the
action pages (register, audit, propose, approve with step-up, reject), the links from an incident
alert, and the roles' 403s."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.enums import PartnerChangeStatus, PartnerInterfaceStatus
from accounts.models import LoanRecord, PartnerInterface, PartnerInterfaceChange
from complaints.enums import Category, ItemOutcome
from complaints.models import IncidentAlert
from tests.admin.conftest import stepup_now, without_stepup
from tests.factories import LoanRecordFactory
from tests.reports.desk import Desk

from .conftest import register

pytestmark = pytest.mark.django_db

CODE = "PI-TEST-V1"


def _page(interface) -> str:
    return f"/admin/accounts/partnerinterface/{interface.pk}/change/"


def test_manager_registers_an_interface_and_bad_input_is_a_field_error(staff_client):
    client, manager, _device = staff_client("manager")
    url = "/admin/accounts/partnerinterface/register/"
    assert client.get("/admin/accounts/partnerinterface/").status_code == 200
    assert url in client.get("/admin/accounts/partnerinterface/").content.decode()
    good = {
        "code": CODE,
        "partner": "测试合作方",
        "permitted_kinds": ["cash"],
        "permitted_channels": ["partner_api"],
        "max_amount": "3000.00",
        "owner": str(manager.pk),
        "contract_reference": "HT-1",
        "reason": "signed contract HT-1",
    }
    for bad in ({"max_amount": "0"}, {"partner": "x\x00y"}, {"permitted_kinds": ["mortgage"]},
                {"reason": "r" * 5000}, {"code": ""}):  # fmt: skip
        response = client.post(url, {**good, **bad})
        assert response.status_code == 200
        assert b"errorlist" in response.content
    assert not PartnerInterface.objects.exists()
    response = client.post(url, good)
    interface = PartnerInterface.objects.get(code=CODE)
    assert response.status_code == 302 and response["Location"] == _page(interface)
    assert interface.owner == manager and interface.permitted_kinds == ["cash"]
    # the same code again is the form's error, not a 500
    response = client.post(url, good)
    assert response.status_code == 200 and b"errorlist" in response.content


def test_agent_reads_but_cannot_act(staff_client, manager):
    interface = register(manager, code=CODE)
    client, _agent, _ = staff_client("agent")
    page = client.get(_page(interface))
    assert page.status_code == 200
    assert b"propose-suspend" not in page.content and b"record-audit" not in page.content
    for url in (
        f"/admin/accounts/partnerinterface/{interface.pk}/propose/suspend/",
        f"/admin/accounts/partnerinterface/{interface.pk}/audit/",
        f"/admin/accounts/partnerinterface/{interface.pk}/terms/",
        "/admin/accounts/partnerinterface/register/",
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"reason": "x"}).status_code == 403, url
    assert not PartnerInterfaceChange.objects.exists()
    # the raw fields are never edited
    assert client.post(_page(interface), {"status": "suspended"}).status_code == 403
    interface.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.ACTIVE


def test_propose_then_another_approves_after_a_fresh_code(staff_client, manager):
    interface = register(manager, code=CODE)
    officer_client, officer, _ = staff_client("risk_officer")
    response = officer_client.post(
        f"/admin/accounts/partnerinterface/{interface.pk}/propose/suspend/",
        {"reason": "incident alert: 5 unauthorized-loan complaints in 24 h"},
    )
    assert response.status_code == 302
    change = PartnerInterfaceChange.objects.get()
    assert (change.proposed_by, change.status) == (officer, PartnerChangeStatus.PENDING)
    # the proposer sees it waiting, without the approve link
    page = officer_client.get(_page(interface)).content.decode()
    assert 'data-testid="pending-change"' in page and "approve-change" not in page
    approve = f"/admin/accounts/partnerinterface/changes/{change.pk}/approve/"
    response = officer_client.post(approve, {"reason": "mine"})  # signed in: a fresh code
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    change.refresh_from_db()
    assert change.status == PartnerChangeStatus.PENDING

    client, approver, _ = staff_client("manager")
    assert "approve-change" in client.get(_page(interface)).content.decode()
    without_stepup(client)
    response = client.get(approve)
    assert response.status_code == 302 and response["Location"].startswith("/admin/stepup/?next=")
    response = client.post(approve, {"reason": "confirmed in the call logs"})
    assert response["Location"].startswith("/admin/stepup/?next=")
    interface.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.ACTIVE
    stepup_now(client, approver)
    response = client.post(approve, {"reason": "confirmed in the call logs"})
    assert response.status_code == 302 and response["Location"] == _page(interface)
    interface.refresh_from_db()
    change.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.SUSPENDED
    assert (change.status, change.decided_by) == (PartnerChangeStatus.APPROVED, approver)
    page = client.get(_page(interface)).content.decode()
    assert "propose-resume" in page and "confirmed in the call logs" in page


def test_reject_and_record_an_audit(staff_client, manager, risk_officer):
    interface = register(manager, code=CODE)
    from accounts.services import partners as svc

    change = svc.partner_interface_change_propose(
        actor=risk_officer, reason="looks odd", interface_id=interface.pk, action="suspend"
    )
    client, approver, _ = staff_client("manager")
    without_stepup(client)  # rejecting needs no code
    reject = f"/admin/accounts/partnerinterface/changes/{change.pk}/reject/"
    assert client.post(reject, {"reason": "false alarm"}).status_code == 302
    change.refresh_from_db()
    assert (change.status, change.decided_by) == (PartnerChangeStatus.REJECTED, approver)
    audit = f"/admin/accounts/partnerinterface/{interface.pk}/audit/"
    today = timezone.localdate()
    tomorrow = (today + timedelta(days=1)).isoformat()
    response = client.post(audit, {"audited_on": tomorrow, "result": "passed", "reason": "x"})
    assert response.status_code == 200 and b"errorlist" in response.content
    response = client.post(
        audit, {"audited_on": today.isoformat(), "result": "findings", "reason": "logs 30 days"}
    )
    assert response.status_code == 302
    interface.refresh_from_db()
    assert (interface.last_audit_on, interface.last_audit_result) == (today, "findings")
    assert (
        client.post("/admin/accounts/partnerinterface/changes/99999/reject/", {}).status_code == 404
    )


def test_interface_page_figures_incidents_and_the_link_back(
    staff_client, manager, risk_officer, system_user, django_assert_max_num_queries
):
    interface = register(manager, code=CODE)
    desk = Desk(system_user)
    complaints = [
        desk.file(
            category=Category.UNAUTHORIZED_LOAN,
            received=timezone.now() - timedelta(hours=i),
            loans=1,
            partner_interface=CODE,
        )
        for i in range(5)
    ]
    desk.file(category=Category.UNAUTHORIZED_LOAN, received=timezone.now(), loans=1)  # no interface
    desk.decide(complaints[0], item_outcomes=[ItemOutcome.UPHELD])
    desk.decide(complaints[1], item_outcomes=[ItemOutcome.UPHELD])
    desk.decide(complaints[2], item_outcomes=[ItemOutcome.REJECTED])
    alert = IncidentAlert.objects.get(dimension="partner_interface")
    assert alert.value == CODE
    # a loan the ledger feed booked against the register (recorded, flagged)
    LoanRecordFactory(partner_interface=CODE, register_violation="interface_suspended")

    client, _user, _ = staff_client("manager")
    # proposals on the page too (decided and pending): no query per row
    from accounts.services import partners as svc

    for i in range(3):
        change = svc.partner_interface_change_propose(
            actor=risk_officer, reason=f"alert {i}", interface_id=interface.pk, action="suspend"
        )
        if i < 2:
            svc.partner_interface_change_reject(actor=manager, reason="no", change_id=change.pk)
    with django_assert_max_num_queries(14):
        response = client.get(_page(interface))
    assert response.status_code == 200
    html = response.content.decode()
    figures = {
        name: re.search(rf'data-testid="fig-{name}">(?:<a [^>]*>)?([^<]*)', html).group(1)
        for name in ("loans", "amount", "flagged", "disputed", "upheld", "upheld-rate", "incidents")
    }
    assert figures == {
        "loans": "6",
        "amount": "¥1,194.00",
        "flagged": "1",
        "disputed": "5",
        "upheld": "2",
        "upheld-rate": "66.7%",  # 2 of the 3 decided
        "incidents": "1",
    }
    assert f"/admin/complaints/incidentalert/{alert.pk}/change/" in html
    loans = client.get(f"/admin/accounts/loanrecord/?partner_interface={CODE}")
    assert loans.status_code == 200
    listed = loans.content.decode()
    through = LoanRecord.objects.filter(partner_interface=CODE).values_list("reference", flat=True)
    assert len(through) == 6 and all(ref in listed for ref in through)
    assert not any(
        ref in listed
        for ref in LoanRecord.objects.exclude(partner_interface=CODE).values_list(
            "reference", flat=True
        )
    )
    # the incident alert's page links to the interface's
    alert_page = client.get(f"/admin/complaints/incidentalert/{alert.pk}/change/").content.decode()
    assert f'href="{_page(interface)}"' in alert_page


def test_changelist_actions_propose_several_and_reject_several(staff_client, manager):
    first, second = register(manager, code="PI-A"), register(manager, code="PI-B")
    client, officer, _ = staff_client("risk_officer")
    changelist = "/admin/accounts/partnerinterface/"
    selected = {"action": "propose_suspension_selected", "_selected_action": [first.pk, second.pk]}
    page = client.post(changelist, selected)
    assert page.status_code == 200 and b"reason-form" in page.content  # asks for the reason
    client.post(changelist, {**selected, "reason_confirmed": "1", "reason": "incident"})
    changes = PartnerInterfaceChange.objects.order_by("interface__code")
    assert [(c.interface.code, c.proposed_by, c.action) for c in changes] == [
        ("PI-A", officer, "suspend"),
        ("PI-B", officer, "suspend"),
    ]
    # the proposer's own rejection is refused, row by row, with the reason said
    client.post(
        "/admin/accounts/partnerinterfacechange/",
        {
            "action": "reject_selected",
            "_selected_action": [c.pk for c in changes],
            "reason_confirmed": "1",
            "reason": "never mind",
        },
    )
    assert set(PartnerInterfaceChange.objects.values_list("status", flat=True)) == {"pending"}
    other, approver, _ = staff_client("manager")
    other.post(
        "/admin/accounts/partnerinterfacechange/",
        {
            "action": "reject_selected",
            "_selected_action": [c.pk for c in changes],
            "reason_confirmed": "1",
            "reason": "one customer's mistake",
        },
    )
    assert set(PartnerInterfaceChange.objects.values_list("status", "decided_by")) == {
        ("rejected", approver.pk)
    }
    assert set(PartnerInterface.objects.values_list("status", flat=True)) == {"active"}
