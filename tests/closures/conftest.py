import pytest
from django.test import Client

from accounts.staff import staff_upsert
from tests.admin.conftest import PASSWORD, login, without_stepup
from tests.factories.closures import staff


@pytest.fixture
def agent(db):
    return staff("agent")


@pytest.fixture
def risk_officer(db):
    return staff("risk_officer")


@pytest.fixture
def reviewer(db):
    return staff("reviewer")


@pytest.fixture
def manager(db):
    return staff("manager")


@pytest.fixture
def signed_in(system_user):
    """make(role) -> (client, user, device): signed in through the admin's login form with a
    real TOTP device, without a fresh step-up yet."""
    counter = iter(range(1000))

    def make(role: str):
        user, device = staff_upsert(
            actor=system_user,
            reason="test",
            username=f"{role}-x{next(counter)}",
            role=role,
            password=PASSWORD,
        )
        client = Client()
        assert login(client, user, device).status_code == 302
        without_stepup(client)  # no fresh code yet (the sign-in's counts for its session only)
        return client, user, device

    return make
