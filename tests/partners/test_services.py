"""The register's services: who may do what, four eyes with step-up, history and the trail, the
alert to managers, and bad input as field errors."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.enums import (
    INTERFACE_SUSPENDED,
    LoanChannel,
    LoanKind,
    PartnerAuditResult,
    PartnerChangeAction,
    PartnerChangeStatus,
    PartnerInterfaceStatus,
)
from accounts.models import PartnerInterface, PartnerInterfaceChange
from accounts.partners import register_snapshot
from accounts.services import partners as svc
from core.errors import ApplicationError
from core.models import ActivityEntry
from notices.models import Notice

from .conftest import fresh_stepup, register

pytestmark = pytest.mark.django_db


def _propose(
    actor,
    interface,
    action=PartnerChangeAction.SUSPEND,
    reason="incident alert: 6 complaints in 24 h",
):
    return svc.partner_interface_change_propose(
        actor=actor, reason=reason, interface_id=interface.pk, action=action
    )


def _suspended(interface, proposer, approver):
    change = _propose(proposer, interface)
    fresh_stepup(approver)
    svc.partner_interface_change_approve(actor=approver, reason="confirmed", change_id=change.pk)
    interface.refresh_from_db()
    return change


# --- Four eyes, step-up, roles -------------------------------------------------------------------


def test_risk_officer_proposes_manager_approves_with_stepup(
    interface, risk_officer, manager, staff
):
    other_manager = staff("manager", email="boss@example.com")
    change = _propose(risk_officer, interface)
    assert change.status == PartnerChangeStatus.PENDING
    interface.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.ACTIVE  # nothing changes before approval

    fresh_stepup(manager)
    svc.partner_interface_change_approve(
        actor=manager, reason="logs confirm it", change_id=change.pk
    )
    change.refresh_from_db()
    interface.refresh_from_db()
    assert (change.status, change.decided_by, interface.status) == (
        PartnerChangeStatus.APPROVED,
        manager,
        PartnerInterfaceStatus.SUSPENDED,
    )
    assert change.decided_at is not None and change.decision_reason == "logs confirm it"
    # from now on the pre-check refuses it
    refusal = register_snapshot().refusal(
        interface.code, LoanKind.CASH, LoanChannel.PARTNER_API, Decimal("10")
    )
    assert refusal == INTERFACE_SUSPENDED
    # every manager with an address is alerted, once
    alerts = Notice.objects.filter(event=svc.SUSPENDED_EVENT)
    assert set(alerts.values_list("recipient__username", flat=True)) == {
        manager.username,
        other_manager.username,
    }
    assert interface.code in alerts.get(recipient=other_manager).body
    assert "incident alert: 6 complaints in 24 h" in alerts.get(recipient=other_manager).body


def test_the_proposer_cannot_approve_nor_reject(interface, manager):
    change = _propose(manager, interface)
    fresh_stepup(manager)
    for decide in (svc.partner_interface_change_approve, svc.partner_interface_change_reject):
        with pytest.raises(ApplicationError) as exc:
            decide(actor=manager, reason="mine", change_id=change.pk)
        assert (exc.value.code, exc.value.status) == ("maker_checker", 403)
    change.refresh_from_db()
    interface.refresh_from_db()
    assert change.status == PartnerChangeStatus.PENDING
    assert interface.status == PartnerInterfaceStatus.ACTIVE


def test_approval_needs_a_fresh_code(interface, risk_officer, manager):
    change = _propose(risk_officer, interface)
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_change_approve(actor=manager, reason="ok", change_id=change.pk)
    assert exc.value.code == "stepup_required"
    # a code older than the window does not count
    from core.models import StepUpVerification

    StepUpVerification.objects.create(
        user=manager, purpose="old", verified_at=timezone.now() - timedelta(minutes=16)
    )
    with pytest.raises(ApplicationError):
        svc.partner_interface_change_approve(actor=manager, reason="ok", change_id=change.pk)
    interface.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.ACTIVE
    fresh_stepup(manager)
    svc.partner_interface_change_approve(actor=manager, reason="ok", change_id=change.pk)
    interface.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.SUSPENDED


def test_rejection_needs_no_code_and_changes_nothing(interface, risk_officer, manager):
    change = _propose(risk_officer, interface)
    svc.partner_interface_change_reject(actor=manager, reason="one-off, fixed", change_id=change.pk)
    change.refresh_from_db()
    interface.refresh_from_db()
    assert change.status == PartnerChangeStatus.REJECTED
    assert interface.status == PartnerInterfaceStatus.ACTIVE
    assert not Notice.objects.filter(event=svc.SUSPENDED_EVENT).exists()
    with pytest.raises(ApplicationError) as exc:  # decided once
        svc.partner_interface_change_reject(actor=manager, reason="again", change_id=change.pk)
    assert exc.value.code == "invalid_transition"


@pytest.mark.parametrize("role", ["agent", "reviewer", "auditor"])
def test_other_roles_cannot_propose_or_decide(interface, staff, risk_officer, role):
    user = staff(role)
    with pytest.raises(ApplicationError) as exc:
        _propose(user, interface)
    assert exc.value.status == 403
    change = _propose(risk_officer, interface)
    fresh_stepup(user)
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_change_approve(actor=user, reason="x", change_id=change.pk)
    assert exc.value.status == 403
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_audit_record(
            actor=user,
            reason="x",
            interface_id=interface.pk,
            audited_on=timezone.localdate(),
            result=PartnerAuditResult.PASSED,
        )
    assert exc.value.status == 403


def test_only_managers_register(risk_officer, agent):
    for user in (risk_officer, agent):
        with pytest.raises(ApplicationError) as exc:
            register(user)
        assert exc.value.status == 403
    assert not PartnerInterface.objects.exists()


def test_resume_after_an_audit_and_the_transitions(interface, risk_officer, manager, staff):
    _suspended(interface, risk_officer, manager)
    # suspending twice, or resuming an active one, is refused
    with pytest.raises(ApplicationError) as exc:
        _propose(risk_officer, interface)
    assert exc.value.code == "invalid_transition"
    svc.partner_interface_audit_record(
        actor=risk_officer,
        reason="permission control added, call logs kept 180 days",
        interface_id=interface.pk,
        audited_on=timezone.localdate(),
        result=PartnerAuditResult.PASSED,
    )
    resume = _propose(manager, interface, PartnerChangeAction.RESUME, "audit passed")
    with pytest.raises(ApplicationError) as exc:  # one pending proposal at a time
        _propose(risk_officer, interface, PartnerChangeAction.RESUME, "again")
    assert exc.value.code == "proposal_pending"
    fresh_stepup(risk_officer)
    svc.partner_interface_change_approve(actor=risk_officer, reason="ok", change_id=resume.pk)
    interface.refresh_from_db()
    assert interface.status == PartnerInterfaceStatus.ACTIVE
    assert interface.last_audit_result == PartnerAuditResult.PASSED
    assert (
        register_snapshot().refusal(
            interface.code, LoanKind.CASH, LoanChannel.PARTNER_API, Decimal("10")
        )
        is None
    )
    # a resumption is not alerted; the one suspension was
    assert Notice.objects.filter(event=svc.SUSPENDED_EVENT).count() == 1


def test_a_stale_proposal_cannot_be_approved(interface, risk_officer, manager):
    change = _propose(risk_officer, interface)
    svc.partner_interface_retire(actor=manager, reason="contract ended", interface_id=interface.pk)
    change.refresh_from_db()
    assert change.status == PartnerChangeStatus.REJECTED  # retired with it
    fresh_stepup(manager)
    with pytest.raises(ApplicationError):
        svc.partner_interface_change_approve(actor=manager, reason="ok", change_id=change.pk)


# --- History and the activity trail -------------------------------------------------------------


def test_every_step_keeps_history_and_lands_in_the_trail(interface, risk_officer, manager):
    change = _suspended(interface, risk_officer, manager)
    history = list(interface.history.order_by("history_id"))
    assert [h.status for h in history] == ["active", "suspended"]
    assert history[0].history_user == manager
    assert history[0].history_change_reason == "new partner contract"
    assert history[1].history_user == manager
    assert "incident alert: 6 complaints in 24 h" in history[1].history_change_reason
    assert risk_officer.username in history[1].history_change_reason
    change_history = list(change.history.order_by("history_id"))
    assert [(h.status, h.history_user) for h in change_history] == [
        ("pending", risk_officer),
        ("approved", manager),
    ]
    trail = ActivityEntry.objects.filter(
        object_type__in=["accounts.partnerinterface", "accounts.partnerinterfacechange"]
    ).order_by("pk")
    assert [(e.actor_username, e.object_type) for e in trail] == [
        (manager.username, "accounts.partnerinterface"),  # registered
        (risk_officer.username, "accounts.partnerinterfacechange"),  # proposed
        (manager.username, "accounts.partnerinterfacechange"),  # approved
        (manager.username, "accounts.partnerinterface"),  # suspended
    ]
    assert "status" in trail.last().changes
    assert all(e.reason for e in trail)


# --- Register, update, audits: bad input is a field error ------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "PI\x00X"}, "code"),
        ({"code": "X" * 65}, "code"),
        ({"partner": "x" * 10_000}, "partner"),
        ({"permitted_kinds": []}, "permitted_kinds"),
        ({"permitted_kinds": ["mortgage"]}, "permitted_kinds"),
        ({"permitted_channels": ["fax"]}, "permitted_channels"),
        ({"max_amount": "0"}, "max_amount"),
        ({"max_amount": "-5"}, "max_amount"),
        ({"max_amount": "NaN"}, "max_amount"),
        ({"max_amount": "abc"}, "max_amount"),
        ({"max_amount": "1e20"}, "max_amount"),
    ],
)
def test_register_bad_input(manager, overrides, field):
    code = overrides.pop("code", "PI-BAD")
    with pytest.raises(ApplicationError) as exc:
        register(manager, code=code, **overrides)
    assert exc.value.status == 400
    assert field in exc.value.fields
    assert not PartnerInterface.objects.exists()


def test_register_twice_and_reason_required(manager, interface):
    with pytest.raises(ApplicationError) as exc:
        register(manager, code=interface.code)
    assert exc.value.fields == {"code": [exc.value.fields["code"][0]]}
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_change_propose(
            actor=manager, reason="  ", interface_id=interface.pk, action="suspend"
        )
    assert "reason" in exc.value.fields
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_change_propose(
            actor=manager, reason="x", interface_id=interface.pk, action="delete"
        )
    assert "action" in exc.value.fields
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_change_propose(
            actor=manager, reason="x", interface_id=999_999, action="suspend"
        )
    assert exc.value.status == 404
    assert not PartnerInterfaceChange.objects.exists()


def test_update_terms_keeps_history_and_never_the_status(manager, interface):
    svc.partner_interface_update(
        actor=manager,
        reason="addendum 2",
        interface_id=interface.pk,
        max_amount="8000",
        permitted_kinds=[LoanKind.INSTALLMENT, LoanKind.CASH, LoanKind.CASH],
    )
    interface.refresh_from_db()
    assert interface.max_amount == Decimal("8000.00")
    assert interface.permitted_kinds == ["cash", "installment"]  # the enum's order, once each
    assert interface.history.first().history_change_reason == "addendum 2"
    with pytest.raises(ApplicationError):
        svc.partner_interface_update(
            actor=manager, reason="x", interface_id=interface.pk, status="active"
        )


def test_audit_dates(manager, interface):
    today = timezone.localdate()
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_audit_record(
            actor=manager,
            reason="x",
            interface_id=interface.pk,
            audited_on=today + timedelta(days=2),
            result=PartnerAuditResult.PASSED,
        )
    assert "audited_on" in exc.value.fields
    svc.partner_interface_audit_record(
        actor=manager,
        reason="logs checked",
        interface_id=interface.pk,
        audited_on=today,
        result=PartnerAuditResult.FINDINGS,
    )
    with pytest.raises(ApplicationError) as exc:  # an older audit does not replace a newer one
        svc.partner_interface_audit_record(
            actor=manager,
            reason="late entry",
            interface_id=interface.pk,
            audited_on=today - timedelta(days=30),
            result=PartnerAuditResult.PASSED,
        )
    assert "audited_on" in exc.value.fields
    with pytest.raises(ApplicationError) as exc:
        svc.partner_interface_audit_record(
            actor=manager, reason="x", interface_id=interface.pk, audited_on=today, result="great"
        )
    assert "result" in exc.value.fields
    interface.refresh_from_db()
    assert (interface.last_audit_on, interface.last_audit_result, interface.last_audit_note) == (
        today,
        PartnerAuditResult.FINDINGS,
        "logs checked",
    )
