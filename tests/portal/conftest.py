from __future__ import annotations

import pytest
from django.core.cache import cache

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Sign-in tests hash many passwords; the production hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and rate-limit counters live in the cache: start every test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login_as(client):
    """Sign a user into the Django test client (axes needs a request, so no client.login)."""

    def _login(user):
        client.force_login(user, backend=MODEL_BACKEND)
        return client

    return _login
