"""`seed_demo` tells issue 15's walk (accounts/partners_demo.py, closures/demo.py,
complaints/demo.py): PI-QUICKCASH-V1 suspended after an incident alert and resumed after an
audit, four eyes each time; the pre-check refusing it meanwhile; a loan booked through it anyway,
flagged on its complaint's case page; a product_change campaign approved and notified, one
appeal upheld, the other closures scheduled to take effect after the notice period. Every step
is checked, so a missing one fails."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation

from accounts.enums import (
    LoanChannel,
    LoanKind,
    LoanStatus,
    PartnerChangeAction,
    PartnerChangeStatus,
    PartnerInterfaceStatus,
)
from accounts.models import LoanRecord, PartnerInterface, PartnerInterfaceChange, User
from accounts.partners import register_snapshot
from backoffice.roles import roles_sync
from backoffice.trail import ACTION_LABELS
from closures.enums import AppealStatus, CampaignStatus, ClosureSource, ClosureStatus
from closures.models import Appeal, ClosureCampaign, ClosureRequest
from closures.selectors import closure_appeal_deadline
from closures.services.campaigns import campaign_progress
from complaints.enums import Category
from complaints.evidence import REGISTER_VIOLATION_LABELS
from complaints.models import Complaint, IncidentAlert
from core.clock import local_date
from core.models import ActivityEntry
from core.otp_models import StaffTOTPDevice
from notices.models import Notice
from tests.admin.conftest import login

pytestmark = pytest.mark.django_db

QUICKCASH = "PI-QUICKCASH-V1"


@pytest.fixture
def seeded():
    roles_sync()
    out = StringIO()
    # 60 bulk customers under seed 11: five have a loan through PI-DIDI-CREDIT-V1.
    call_command("seed_demo", customers=60, loans_per_account=3, seed=11, no_progress=True,
                 stdout=out)  # fmt: skip
    return out.getvalue()


def _staff_client(username: str) -> Client:
    user = User.objects.get(username=username)
    client = Client()
    device = StaffTOTPDevice.objects.get(user=user)
    assert login(client, user, device, password=f"{username}-demo-pass").status_code == 302
    return client


def test_the_interface_is_suspended_after_the_alert_and_resumed_after_an_audit(seeded):
    assert "Demo walk incident on PI-QUICKCASH-V1: played" in seeded
    now = timezone.now()
    interface = PartnerInterface.objects.get(code=QUICKCASH)
    assert interface.status == PartnerInterfaceStatus.ACTIVE
    suspend, resume = PartnerInterfaceChange.objects.filter(interface=interface).order_by("pk")
    assert (suspend.action, resume.action) == (
        PartnerChangeAction.SUSPEND,
        PartnerChangeAction.RESUME,
    )
    for change in (suspend, resume):
        assert change.status == PartnerChangeStatus.APPROVED
        assert change.proposed_by_id != change.decided_by_id  # four eyes
        assert change.proposed_at < change.decided_at < now
    assert {suspend.proposed_by.username, suspend.decided_by.username} == {"risk", "manager"}
    assert {resume.proposed_by.username, resume.decided_by.username} == {"risk", "manager"}

    # The alert came first: five unauthorized-loan complaints within 24 h on the interface.
    (alert,) = IncidentAlert.objects.filter(value=QUICKCASH)
    assert alert.complaint_count == 5 and alert.raised_at < suspend.proposed_at
    reports = Complaint.objects.filter(
        category=Category.UNAUTHORIZED_LOAN, items__loan__partner_interface=QUICKCASH
    ).distinct()
    assert reports.count() == 6
    assert all(c.received_at < now and c.acknowledged_at > c.received_at for c in reports)
    # The audit before the resumption, then the status history: active, suspended, active.
    assert interface.last_audit_on is not None
    audited = interface.last_audit_on
    assert local_date(suspend.decided_at) <= audited <= local_date(resume.proposed_at)
    statuses = [h.status for h in interface.history.order_by("history_id")]
    collapsed = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
    assert collapsed == ["active", "suspended", "active"]
    suspended_rows = interface.history.filter(status=PartnerInterfaceStatus.SUSPENDED)
    assert suspended_rows.order_by("history_id").first().history_user.username == "manager"

    # The pre-check refused a loan while it was suspended; it lets one through again now.
    (refusal,) = ActivityEntry.objects.filter(
        action="accounts.partnerinterface.precheck_refused", object_id=str(interface.pk)
    )
    assert f"through {QUICKCASH} (partner_api)" in refusal.reason
    assert refusal.reason.endswith(": interface_suspended")
    assert refusal.actor_username == "system:lending-core"
    assert (
        register_snapshot().refusal(QUICKCASH, LoanKind.CASH, LoanChannel.PARTNER_API, 3000) is None
    )

    # The managers' trail lists the refusal in words; the interface's page shows both changes
    # with their people.
    manager = _staff_client("manager")
    trail = manager.get("/admin/audit/", {"action": refusal.action})
    assert trail.status_code == 200
    with translation.override(trail.headers["Content-Language"]):
        assert str(ACTION_LABELS[refusal.action]) in trail.content.decode()
    page = manager.get(f"/admin/accounts/partnerinterface/{interface.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    changes = html[html.index('data-testid="interface-changes"') :]
    changes = changes[: changes.index("</fieldset>")]
    assert changes.count("risk ·") == 2 and changes.count("manager ·") == 2
    assert 'data-testid="interface-incidents"' in html and "No incident alert" not in html


def test_the_loan_booked_through_the_suspended_interface_is_flagged_on_its_case_page(seeded):
    interface = PartnerInterface.objects.get(code=QUICKCASH)
    suspend, resume = PartnerInterfaceChange.objects.filter(interface=interface).order_by("pk")
    (flagged,) = LoanRecord.objects.exclude(register_violation="")
    assert flagged.register_violation == "interface_suspended"
    assert flagged.partner_interface == QUICKCASH and flagged.status == LoanStatus.DISPUTED
    assert suspend.decided_at < flagged.created_at < resume.proposed_at
    (complaint,) = Complaint.objects.filter(items__loan=flagged)
    assert complaint.assignee.username == "agent"
    page = _staff_client("agent").get(f"/admin/complaints/complaint/{complaint.pk}/change/")
    assert page.status_code == 200
    with translation.override(page.headers["Content-Language"]):  # the page's language
        label = str(REGISTER_VIOLATION_LABELS["interface_suspended"])
    assert label and label in page.content.decode()
    # The five night loans were within the register when they were booked: not flagged.
    night = LoanRecord.objects.filter(partner_interface=QUICKCASH, reference__startswith="LNQC")
    assert night.count() == 6 and night.filter(register_violation="").count() == 5


def test_the_product_change_campaign_is_approved_notified_and_one_appeal_wins(seeded):
    now = timezone.now()
    (campaign,) = ClosureCampaign.objects.all()
    assert campaign.reason == "product_change" and campaign.status == CampaignStatus.DONE
    assert campaign.created_by.username == "manager"
    assert campaign.approved_by.username == "reviewer"
    assert campaign.created_at < campaign.submitted_at < campaign.approved_at < now
    closures = list(ClosureRequest.objects.filter(campaign=campaign).order_by("pk"))
    assert len(closures) == campaign.matched_count == campaign.proposed_count == 5
    assert campaign.notified_count == 5
    assert all(c.source == ClosureSource.CAMPAIGN for c in closures)
    progress = campaign_progress(campaign)
    assert progress["upheld"] == 1 and progress["reversed"] == 1
    assert progress["approved"] == 4 and progress["closing"] == progress["closed"] == 0

    days = settings.CLOSURE_NOTICE_DAYS["product_change"]
    for closure in closures:
        assert closure.approved_at == campaign.approved_at
        assert closure.effective_at == closure.notice_sent_at + timedelta(days=days)
        assert closure.effective_at > now  # scheduled, per the notice period
        deadline = closure_appeal_deadline(closure)
        assert deadline == closure.appeal_deadline and deadline > now
        notices = Notice.objects.filter(event="closure.notice", object_id=str(closure.pk))
        assert notices.filter(channel="portal", sent_at=closure.notice_sent_at).count() == 1

    (appeal,) = Appeal.objects.filter(closure__campaign=campaign)
    assert appeal.status == AppealStatus.UPHELD
    assert appeal.closure.status == ClosureStatus.REVERSED
    assert appeal.filed_by == appeal.closure.account.customer.user
    assert appeal.decided_by.username == "manager2"  # took no part in the campaign
    assert appeal.closure.notice_sent_at < appeal.filed_at < appeal.decided_at < now
    assert appeal.closure.account.status == "active"
    assert Notice.objects.filter(event="appeal.upheld", object_id=str(appeal.pk)).exists()

    page = _staff_client("manager").get(f"/admin/closures/closurecampaign/{campaign.pk}/change/")
    assert page.status_code == 200


def test_the_walks_play_once(seeded):
    out = StringIO()
    call_command("seed_demo", customers=60, loans_per_account=3, seed=11, no_progress=True,
                 stdout=out)  # fmt: skip
    assert "incident on PI-QUICKCASH-V1: already there" in out.getvalue()
    assert "product_change campaign: already there" in out.getvalue()
    assert PartnerInterfaceChange.objects.count() == 2
    assert ClosureCampaign.objects.count() == 1 and Appeal.objects.count() == 1
