"""History pages are read-only for every role (PRODUCT.md "The audit trail cannot be rewritten").

django-simple-history's admin serves `<object>/history/<history_id>/`, whose POST restores that
old version — with no reason, no event, no notice, no four eyes. The staff site mixes
`ReadOnlyHistoryMixin` into every ModelAdmin it registers: the page answers 403 to a GET and a
POST alike (nothing to restore from, whoever asks), and the history list shows no links to it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class ReadOnlyHistoryMixin:
    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        raise PermissionDenied

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True
