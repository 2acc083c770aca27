"""Staff members through accounts.staff: one role group, a fresh TOTP device, and clear
refusals (unknown role, missing role groups, a customer's username)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.staff import staff_upsert
from core import roles
from core.errors import ApplicationError
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_staff_upsert_puts_the_member_in_exactly_one_role(system_user):
    user, device = staff_upsert(
        actor=system_user, reason="hired", username="wang.agent", role=roles.AGENT
    )
    user, second = staff_upsert(
        actor=system_user, reason="promoted", username="wang.agent", role=roles.REVIEWER
    )
    assert [g.name for g in user.groups.all()] == [roles.REVIEWER]
    assert user.is_staff and not user.is_superuser
    assert second.confirmed and second.pk != device.pk
    assert user.history.latest().history_change_reason == "promoted"


def test_staff_upsert_refuses_an_unknown_role_and_a_customer(system_user):
    with pytest.raises(ApplicationError) as exc:
        staff_upsert(actor=system_user, reason="x", username="li", role="superhero")
    assert exc.value.code == "invalid"
    customer = CustomerFactory()
    with pytest.raises(ApplicationError) as exc:
        staff_upsert(
            actor=system_user, reason="x", username=customer.user.username, role=roles.AGENT
        )
    assert exc.value.code == "customer_not_staff"


def test_staff_upsert_without_the_role_groups_says_to_migrate(system_user):
    Group.objects.filter(name=roles.AGENT).delete()
    with pytest.raises(ApplicationError) as exc:
        staff_upsert(actor=system_user, reason="x", username="zhao", role=roles.AGENT)
    assert exc.value.code == "roles_missing"
