"""Fixtures of the partner-interface register's tests: staff of each role (through the factories,
roles synced), a registered interface (through the service)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.enums import LoanChannel, LoanKind
from accounts.services import partners as partner_services
from backoffice.roles import roles_sync
from core.models import StepUpVerification
from tests.factories import StaffFactory


@pytest.fixture
def roles(db):
    roles_sync()


@pytest.fixture
def staff(roles):
    def make(role: str, **kwargs):
        return StaffFactory(role=role, **kwargs)

    return make


@pytest.fixture
def manager(staff):
    return staff("manager")


@pytest.fixture
def risk_officer(staff):
    return staff("risk_officer")


@pytest.fixture
def agent(staff):
    return staff("agent")


def fresh_stepup(user) -> None:
    """A one-time code entered just now (outside a request any session counts)."""
    StepUpVerification.objects.create(user=user, purpose="test")


def register(actor, code="PI-TEST-V1", **overrides):
    fields = {
        "partner": "测试合作方",
        "permitted_kinds": [LoanKind.CASH, LoanKind.PURCHASE],
        "permitted_channels": [LoanChannel.PARTNER_API],
        "max_amount": Decimal("5000.00"),
        "contract_reference": "HT-TEST-1",
        **overrides,
    }
    return partner_services.partner_interface_register(
        actor=actor, reason="new partner contract", code=code, **fields
    )


@pytest.fixture
def interface(manager):
    return register(manager)


# The admin tests sign in through the real login form (password + TOTP).
from tests.admin.conftest import make_staff, staff_client  # noqa: E402, F401
