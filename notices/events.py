"""The registry of notice events.

Each installed app may declare `EVENTS` in `<app>/notice_events.py`:
`EVENTS = {"complaint.acknowledged": {"channels": ("portal", "email", "sms")}}`. Every event
needs a template per language at `<app>/templates/notices/<event>/<language>.txt` (first line:
subject; the rest: body). `event_validate` is called by `notice_enqueue` and by the test that
checks every event is complete, so a missing template is an error, never a silent drop.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.signals import setting_changed
from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from core.errors import ApplicationError

from .enums import DEFAULT_CHANNELS, Channel


def languages() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


@lru_cache(maxsize=1)
def events_registry() -> dict[str, dict[str, Any]]:
    """Every declared event, merged over the installed apps."""
    registry: dict[str, dict[str, Any]] = {}
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.notice_events"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:  # the module exists but one of its imports is broken
                raise
            continue
        for name, spec in getattr(module, "EVENTS", {}).items():
            if name in registry:
                raise ImproperlyConfiguredEvent(f"notice event {name!r} declared twice")
            registry[name] = {"channels": tuple(spec.get("channels", DEFAULT_CHANNELS)), **spec}
            registry[name]["app"] = app_config.name
    return registry


class ImproperlyConfiguredEvent(Exception):
    pass


def template_name(event: str, language: str) -> str:
    return f"notices/{event}/{language}.txt"


def event_spec(event: str) -> dict[str, Any]:
    try:
        return events_registry()[event]
    except KeyError:
        raise ApplicationError(
            f"Unknown notice event {event!r}: declare it in <app>/notice_events.py.",
            code="notice_unknown_event",
            status=500,
        ) from None


def event_validate(event: str) -> dict[str, Any]:
    """The event's spec; ApplicationError if the event is unknown, declares an unknown channel,
    or lacks a template in any language."""
    spec = event_spec(event)
    bad = [c for c in spec["channels"] if c not in Channel.values]
    if bad:
        raise ApplicationError(
            f"Notice event {event!r} declares unknown channels {bad}.",
            code="notice_bad_channel",
            status=500,
        )
    _templates_check(event)
    return spec


@lru_cache(maxsize=512)
def _templates_check(event: str) -> None:
    """Raise unless `event` has a template in every language (a success is cached; the cache
    is cleared when the template settings change)."""
    for language in languages():
        name = template_name(event, language)
        try:
            get_template(name)
        except TemplateDoesNotExist:
            raise ApplicationError(
                f"Notice event {event!r} has no template {name!r}.",
                code="notice_missing_template",
                status=500,
            ) from None


def _clear_caches(*, setting: str, **kwargs: Any) -> None:
    if setting in ("TEMPLATES", "LANGUAGES", "INSTALLED_APPS"):
        _templates_check.cache_clear()


setting_changed.connect(_clear_caches)


def events_problems() -> list[str]:
    """Every problem with every declared event (for the completeness test and checks)."""
    problems = []
    for event in sorted(events_registry()):
        try:
            event_validate(event)
        except ApplicationError as exc:
            problems.append(str(exc))
    return problems
