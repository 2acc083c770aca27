"""Fixtures of the hardening tests; staff signed in through the real admin form, and the closures
tests' staff members, reused from their own conftest modules."""

from __future__ import annotations

import pytest

from tests.admin.conftest import make_staff, staff_client  # noqa: F401  (fixtures)
from tests.closures.conftest import agent, manager, reviewer  # noqa: F401  (fixtures)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def token_client(api_client):
    """An APIClient carrying the token of `user`."""
    from core.tokens import token_issue

    def _as(user):
        _row, token = token_issue(user=user)
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return api_client

    return _as
