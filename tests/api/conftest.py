from __future__ import annotations

import pytest


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
