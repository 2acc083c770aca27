"""Issue 14 item 17: deactivating a staff member who leaves revokes their sessions (security
stamp), API tokens and OTP devices at once and puts their open complaints back in the
unassigned queue with a reason, every change in history and the activity trail; the user
admin offers it as an action with a reason."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django_otp import devices_for_user
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from accounts.staff import staff_deactivate
from complaints import services as complaint_services
from complaints.enums import EventType
from core.errors import ApplicationError, Forbidden
from core.models import ActivityEntry, BackupCode, BackupCodeDevice
from core.tokens import token_issue
from tests.admin.conftest import login
from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db

REASON = "Left the company on 2026-11-30 (HR ticket 4711)"


@pytest.fixture
def deactivator(make_staff):
    """A manager allowed to deactivate staff (accounts.change_user), with a TOTP device."""
    user, device = make_staff("manager")
    user.user_permissions.add(Permission.objects.get(codename="change_user"))
    return User.objects.get(pk=user.pk), device


@pytest.fixture
def leaver(staff_client, system_user):
    """An agent signed in to the admin (password + TOTP), with backup codes, an API token and
    two open complaints; a colleague holds a third."""
    client, agent, device = staff_client("agent")
    backup = BackupCodeDevice.objects.create(user=agent, name="backup codes", confirmed=True)
    backup.codes_issue(1)
    _row, token = token_issue(user=agent)
    _colleague_client, colleague, _ = staff_client("agent")
    cases = []
    for assignee in (agent, agent, colleague):
        account, loans = account_with_loans(actor=system_user)
        complaint = dispute(account=account, loans=loans)
        complaint_services.complaint_assign(
            complaint_id=complaint.pk, assignee=assignee, actor=assignee, reason="taking it"
        )
        cases.append(complaint)
    return client, agent, token, cases, colleague


def _api(token) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api


def test_deactivation_revokes_everything_at_once_and_frees_the_cases(leaver, deactivator):
    client, agent, token, (mine1, mine2, theirs), colleague = leaver
    actor, _device = deactivator
    assert client.get("/admin/").status_code == 200
    assert _api(token).get("/api/v1/accounts/").status_code == 403  # staff: not a customer
    assert len(list(devices_for_user(agent, confirmed=None))) == 2
    before_trail = ActivityEntry.objects.count()

    staff_deactivate(actor=actor, reason=REASON, user_id=agent.pk)

    agent.refresh_from_db()
    assert agent.is_active is False
    # The session signed in before is gone (new security stamp), the token too.
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert not AuthToken.objects.filter(user=agent).exists()
    assert _api(token).get("/api/v1/accounts/").status_code == 401
    assert list(devices_for_user(agent, confirmed=None)) == []
    assert not BackupCode.objects.filter(device__user=agent).exists()

    # History of the user: who and why, for the deactivation and the new stamp.
    latest = list(agent.history.order_by("-history_id")[:2])
    assert {h.history_change_reason for h in latest} == {REASON}
    assert {h.history_user_id for h in latest} == {actor.pk}
    assert latest[-1].is_active is False

    # Their open cases are back in the unassigned queue, with the reason and one event each.
    for complaint in (mine1, mine2):
        complaint.refresh_from_db()
        assert complaint.assignee_id is None
        assert complaint.status == "investigating"
        last = complaint.history.order_by("-history_id").first()
        assert (last.history_change_reason, last.history_user_id) == (REASON, actor.pk)
        event = complaint.events.order_by("-pk").first()
        assert event.type == EventType.ASSIGNED
        assert (event.actor_id, event.previous_assignee_id, event.assignee_id) == (
            actor.pk,
            agent.pk,
            None,
        )
    theirs.refresh_from_db()
    assert theirs.assignee_id == colleague.pk

    # The activity trail: the user's rows, the credentials revoked, each complaint released.
    trail = ActivityEntry.objects.order_by("pk")[before_trail:]
    rows = [(e.action, e.object_type, e.object_id, e.reason, e.actor_id) for e in trail]
    revoke = [r for r in rows if r[0] == "staff.credentials_revoke"]
    assert revoke == [
        ("staff.credentials_revoke", "accounts.user", str(agent.pk), REASON, actor.pk)
    ]
    assert {r[2] for r in rows if r[1] == "complaints.complaint" and r[3] == REASON} == {
        str(mine1.pk),
        str(mine2.pk),
    }
    assert any(r[1] == "accounts.user" and r[0] != "staff.credentials_revoke" for r in rows)
    assert all(r[4] == actor.pk for r in rows)


def test_deactivation_is_refused_without_the_permission_twice_or_for_oneself(
    leaver, deactivator, make_staff
):
    _client, agent, _token, _cases, colleague = leaver
    actor, _device = deactivator
    with pytest.raises(Forbidden):
        staff_deactivate(actor=colleague, reason=REASON, user_id=agent.pk)
    with pytest.raises(ApplicationError) as exc:
        staff_deactivate(actor=actor, reason="  ", user_id=agent.pk)
    assert exc.value.code == "invalid"
    with pytest.raises(ApplicationError) as exc:
        staff_deactivate(actor=actor, reason=REASON, user_id=actor.pk)
    assert exc.value.code == "self_deactivation"
    agent.refresh_from_db()
    assert agent.is_active and AuthToken.objects.filter(user=agent).exists()

    staff_deactivate(actor=actor, reason=REASON, user_id=agent.pk)
    with pytest.raises(ApplicationError) as exc:
        staff_deactivate(actor=actor, reason=REASON, user_id=agent.pk)
    assert (exc.value.code, exc.value.status) == ("already_inactive", 409)


def test_the_user_admin_deactivates_with_a_reason(leaver, deactivator):
    session, agent, _token, (mine1, _mine2, _theirs), _colleague = leaver
    actor, device = deactivator
    admin = Client()
    assert login(admin, actor, device).status_code == 302
    changelist = "/admin/accounts/user/"
    ask = admin.post(changelist, {"action": "deactivate_staff", "_selected_action": [agent.pk]})
    assert ask.status_code == 200
    assert 'name="reason"' in ask.content.decode()
    done = admin.post(
        changelist,
        {
            "action": "deactivate_staff",
            "_selected_action": [agent.pk],
            "reason": REASON,
            "reason_confirmed": "1",
        },
    )
    assert done.status_code == 302
    agent.refresh_from_db()
    mine1.refresh_from_db()
    assert agent.is_active is False and mine1.assignee_id is None
    assert session.get("/admin/").status_code == 302


def test_the_action_is_not_offered_without_the_permission(staff_client):
    client, _user, _device = staff_client("manager")
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 200
    assert "deactivate_staff" not in response.content.decode()
