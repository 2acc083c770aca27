"""Shared test fixtures. Tests run on PostgreSQL (DATABASE_URL); see the Makefile."""

from __future__ import annotations

import os

import pytest
from django.conf import settings


def pytest_configure(config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The suite runs on PostgreSQL: set DATABASE_URL=postgres://... (make test does)."
        )


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path, settings) -> None:
    """Mail, SMS and uploads of a test land in its own temporary folder."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.MEDIA_ROOT = str(tmp_path / "uploads")
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def system_user(db):
    from backoffice.audit import system_actor

    return system_actor("tests")


@pytest.fixture
def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
