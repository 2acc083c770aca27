"""Rendering a notice in one language: plain text, autoescape off, first line the subject."""

from __future__ import annotations

from typing import Any

from django.template import Context
from django.template.loader import get_template
from django.utils import translation

from .events import template_name

REDACTED = "******"
# Context keys whose values never reach the stored (display) copy of a sensitive notice.
SENSITIVE_KEYS = frozenset({"code", "otp", "token", "password", "secret"})


def notice_render(*, event: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of `event` in `language`."""
    template = get_template(template_name(event, language))
    with translation.override(language):
        text = template.template.render(Context(context, autoescape=False))
    text = text.lstrip("\n")
    subject, _sep, body = text.partition("\n")
    return subject.strip()[:255], body.strip() + "\n"


def redacted_context(context: dict[str, Any]) -> dict[str, Any]:
    return {k: (REDACTED if k in SENSITIVE_KEYS else v) for k, v in context.items()}
