"""History pages are read-only for every role (PRODUCT.md "The audit trail cannot be rewritten").

django-simple-history's admin serves `<object>/history/<history_id>/`, whose POST restores that
old version — with no reason, no event, no notice, no four eyes. The staff site mixes
`ReadOnlyHistoryMixin` into every ModelAdmin it registers: the page answers 403 to a GET and a
POST alike (nothing to restore from, whoever asks), and the history list shows no links to it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse


class ReadOnlyHistoryMixin:
    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: Any = None
    ) -> HttpResponse:
        # simple_history filters the history by the raw id before any look-up: an id that is
        # not one of the model's (`abc`) would reach PostgreSQL and answer a 500.
        try:
            pk = self.model._meta.pk.to_python(unquote(object_id))
        except ValidationError as exc:
            raise Http404 from exc
        if isinstance(pk, int) and not -(2**63) <= pk < 2**63:
            raise Http404  # beyond a bigint
        return super().history_view(request, object_id, extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        raise PermissionDenied

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True
