"""Deploy checks of our own (`manage.py check --deploy`), run with DEBUG off only.

- backoffice.E001-E003: a development key committed in settings.py (SECRET_KEY,
  FIELD_ENCRYPTION_KEYS, BLIND_INDEX_KEY) is in use. Those keys are public, so anything signed
  or encrypted under them is readable by anyone with the source.
- backoffice.E004: the cache is not shared by every process (CACHE_URL unset, or a backend
  without an atomic increment). Throttles, rate limits and lockouts would then multiply by the
  number of workers and nodes.

`make run` and the test suite run with DEBUG on, where the development keys and the per-process
memory cache are what they are meant for.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

# Backends whose counters live in one process (locmem), nowhere (dummy), or that have no atomic
# increment (database, file: two workers can both read 5 and both write 6).
UNSHARED_CACHE_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.db.DatabaseCache",
    "django.core.cache.backends.filebased.FileBasedCache",
}

_HINT = "Set the {name} environment variable to a secret of production's own (see the README)."


def _uses_development_key(name: str, development_key: str) -> bool:
    value = getattr(settings, name, None)
    if isinstance(value, list | tuple):
        # Any position counts: an old key kept for rotation still decrypts the data under it.
        return development_key in value
    return value == development_key


@register(Tags.security, deploy=True)
def development_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    ids = {"SECRET_KEY": "E001", "FIELD_ENCRYPTION_KEYS": "E002", "BLIND_INDEX_KEY": "E003"}
    for name, development_key in getattr(settings, "DEVELOPMENT_KEYS", {}).items():
        if _uses_development_key(name, development_key):
            errors.append(
                Error(
                    f"{name} is the development key committed in settings.py.",
                    hint=_HINT.format(name=name),
                    id=f"backoffice.{ids.get(name, 'E009')}",
                )
            )
    return errors


@register(Tags.caches, deploy=True)
def shared_cache_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in UNSHARED_CACHE_BACKENDS:
        return [
            Error(
                f"The default cache ({backend}) is not shared by every worker and node, so "
                "throttles, rate limits and lockouts multiply by the number of processes.",
                hint="Set CACHE_URL=redis://... (a cache with an atomic increment).",
                id="backoffice.E004",
            )
        ]
    return []
