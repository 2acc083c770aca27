"""Issue 14 items 3 and 14: with DEBUG off, `check --deploy --fail-level WARNING` fails while a
development key committed in settings.py is in use, or while the cache is not shared (CACHE_URL
unset). Each run is a subprocess: settings are read from the environment at start-up."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from backoffice import settings as settings_module
from tests.backoffice.test_deploy_check import _check, _production_env

DEV_FIELD_KEY = settings_module.DEVELOPMENT_KEYS["FIELD_ENCRYPTION_KEYS"]


@pytest.mark.parametrize(
    ("overrides", "removed", "error_id"),
    [
        ({"SECRET_KEY": settings_module.DEVELOPMENT_KEYS["SECRET_KEY"]}, (), "backoffice.E001"),
        ({}, ("FIELD_ENCRYPTION_KEYS",), "backoffice.E002"),
        # The development key kept as an old key for rotation still decrypts what it encrypted.
        (
            {"FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},{DEV_FIELD_KEY}"},
            (),
            "backoffice.E002",
        ),
        ({}, ("BLIND_INDEX_KEY",), "backoffice.E003"),
        ({}, ("CACHE_URL",), "backoffice.E004"),
        # Django's database cache has no atomic increment: no fix for shared counters.
        ({"CACHE_URL": "dbcache://cache_table"}, (), "backoffice.E004"),
    ],
    ids=["secret", "field-keys", "field-keys-old", "blind-index", "no-cache", "db-cache"],
)
def test_check_deploy_fails_on_a_development_key_or_an_unshared_cache(overrides, removed, error_id):
    env = _production_env(**overrides)
    for name in removed:
        del env[name]
    result = _check(env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert error_id in output
    # Only the one fault is reported: the production settings of the passing test are clean.
    assert output.count("backoffice.E") == 1, output


def test_development_defaults_with_debug_on_pass_our_checks():
    """`make run` (DEBUG on, no variables) keeps working: our checks say nothing there."""
    env = _production_env(DEBUG="on")
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "CACHE_URL"):
        del env[name]
    result = _check(env)
    assert "backoffice.E" not in result.stdout + result.stderr
