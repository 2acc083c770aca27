"""URL patterns of the notices app (portal inbox, API messages)."""

from django.urls import path  # noqa: F401

portal_patterns: list = []
api_patterns: list = []
