"""Append-only tables, enforced by PostgreSQL itself (django-pgtrigger protections).

Protected: every django-simple-history table (added to each historical model in
`protect_historical_models()`, called from CoreConfig.ready before migrations are computed, so
the triggers are migrated like any other schema), the activity trail and its seals (core.models),
and the case and closure event tables (their models declare `append_only_trigger()` in Meta).
An UPDATE or DELETE on any of them raises in the database, whatever issued it: a bug, a shell,
a raw SQL statement.

The one way through is `rewrite_exception(name, reason=...)`: a named, logged exception for
jobs that must rewrite a protected row without changing its meaning. Today that is
`rotate_field_keys` (re-encrypts ciphertext in historical tables); a later migration that must
touch these tables uses it too. Each use writes an `audit.rewrite_exception` row to the trail and
a WARNING to the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pgtrigger
from django.apps import apps

logger = logging.getLogger(__name__)

TRIGGER_NAME = "append_only"
# The jobs allowed through, by name; anything else is refused.
ALLOWED_REWRITES = frozenset({"rotate_field_keys", "migration"})


def append_only_trigger() -> pgtrigger.Protect:
    return pgtrigger.Protect(name=TRIGGER_NAME, operation=pgtrigger.Update | pgtrigger.Delete)


def _is_historical(model: Any) -> bool:
    return hasattr(model, "instance_type") and model.__name__.startswith("Historical")


def protect_historical_models() -> None:
    for model in apps.get_models():
        if not _is_historical(model):
            continue
        triggers = list(getattr(model._meta, "triggers", []) or [])
        if any(t.name == TRIGGER_NAME for t in triggers):
            continue
        trigger = append_only_trigger()
        triggers.append(trigger)
        model._meta.triggers = triggers
        # ModelState.from_model reads original_attrs: this is what makes the trigger migrate.
        model._meta.original_attrs["triggers"] = triggers
        trigger.register(model)


def protected_uris() -> list[str]:
    return [
        f"{model._meta.label}:{trigger.name}"
        for model, trigger in pgtrigger.registered()
        if trigger.name == TRIGGER_NAME
    ]


@contextmanager
def rewrite_exception(name: str, *, reason: str, actor: Any = None) -> Iterator[None]:
    """Let the named job rewrite protected rows inside this block (this thread only)."""
    if name not in ALLOWED_REWRITES:
        raise PermissionError(f"no append-only exception named {name!r}")
    from .activity import activity_record  # core-internal: activity imports models

    logger.warning("append-only exception %s opened: %s", name, reason)
    activity_record(actor=actor, action="audit.rewrite_exception", reason=f"{name}: {reason}")
    with pgtrigger.ignore(*protected_uris()):
        yield
    logger.warning("append-only exception %s closed", name)
