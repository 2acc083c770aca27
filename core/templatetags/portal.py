"""`{% load portal %}{% submission_token %}`: the one-time token of a portal form (core.portal)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.portal import SUBMISSION_TOKEN_FIELD, submission_token_new

register = template.Library()


@register.simple_tag
def submission_token() -> SafeString:
    """A hidden field with a fresh token: a second POST of this form files nothing more."""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', SUBMISSION_TOKEN_FIELD, submission_token_new()
    )
