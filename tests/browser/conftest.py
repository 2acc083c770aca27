from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _allow_orm_next_to_playwright():
    """Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM
    calls when it sees one. Set the escape hatch before the browser (and the live server's
    database set-up) start, not only inside the `page` fixture."""
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session", autouse=True)
def _live_server_media_url():
    """settings.MEDIA_URL is None (uploads are only served by access-checked views), but the
    live server's media handler needs a string prefix: give it one that nothing links to."""
    from django.conf import settings

    if not settings.MEDIA_URL:
        settings.MEDIA_URL = "/_media_not_served/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
