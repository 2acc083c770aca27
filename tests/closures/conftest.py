import pytest

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
