"""With DEBUG off and production-like variables, `check --deploy --fail-level WARNING` passes.
Run in a subprocess, because settings are read from the environment at start-up."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from cryptography.fernet import Fernet
from django.conf import settings


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "PYTHONPATH", "DATABASE_URL")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="backoffice.settings",
        DEBUG="off",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="desk.example.com",
        CSRF_TRUSTED_ORIGINS="https://desk.example.com",
        FIELD_ENCRYPTION_KEYS=f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        BLIND_INDEX_KEY=secrets.token_urlsafe(32),
        CELERY_BROKER_URL="redis://127.0.0.1:6379/2",
        CACHE_URL="redis://127.0.0.1:6379/3",
        EMAIL_URL="smtp://mail.example.com:587",
        PORTAL_BASE_URL="https://desk.example.com",
        VAR_DIR="/tmp/credit-desk-deploy-check",
    )
    env.update(overrides)
    return env


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = _check(_production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_development_defaults():
    """The same check run with the development secret key must fail: the test above can fail."""
    env = _production_env()
    del env["SECRET_KEY"]
    result = _check(env)
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr
