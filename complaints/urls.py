"""URL patterns of this app, mounted by backoffice.portal_urls, api_urls and staff_urls."""

from django.urls import path  # noqa: F401

portal_patterns: list = []
api_patterns: list = []
staff_patterns: list = []
