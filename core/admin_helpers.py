"""Shared ModelAdmin building blocks for the staff admin. Import these in every app's admin.

Usage::

    from core.admin_helpers import DomainAdmin, reason_action_response

    @admin.register(Complaint)
    class ComplaintAdmin(DomainAdmin):
        list_display = ("reference", "status", "received_at")
        list_select_related = ("account",)
        raw_id_fields = ("account",)

The pieces (combine them, leftmost first, in front of a ModelAdmin):

- ``NoDeleteMixin``: nothing is ever deleted from the admin (PRODUCT.md). ``has_delete_permission``
  is False and the ``delete_selected`` action disappears. The staff site also wraps every
  registered ModelAdmin with it, so forgetting it cannot re-enable deletion.
- ``AuditorReadOnlyMixin``: members of the ``auditor`` role read everything and change nothing:
  no add/change permission and no actions at all, whatever else they hold.
- ``DomainReadOnlyMixin``: domain rows change only through services with a reason, never by
  free editing in a change form: no add, no change, every field read-only, history revert
  disabled. Offer changes as admin actions that call a service (see ``service_action`` and the
  freeze/unfreeze actions in ``accounts/admin.py``, built on
  ``reason_action_response``).
- ``LargeTableMixin``: for tables that grow large: ``show_full_result_count = False``, no filter
  facet counts, and the ``LargeTablePaginator`` below, which never runs an unbounded
  ``COUNT(*)``.
- ``SimpleHistoryAdmin`` (django-simple-history): the "History" button and view; ``DomainAdmin``
  includes it.
- ``DomainAdmin``: all of the above in the right order; the default for domain models.
- ``StaffModelAdmin``: no delete, auditor read-only, large-table paging and history, but
  editable (for configuration-like models that are edited directly).

Custom admin pages: add them in ``get_urls()`` wrapped in ``self.admin_site.admin_view`` (so they
need a verified OTP session like every admin page) and check the permission in the view or the
service. For actions with a reason, ``reason_action_response`` renders an intermediate page with a
reason field (template ``admin/core/reason_action.html``).

Rules for list pages (the query-budget tests hold every changelist to a fixed number of queries
whatever the row count): set ``list_select_related`` for every FK in ``list_display``, use
``raw_id_fields`` / ``autocomplete_fields`` for foreign keys, filter only on choice/boolean/date
fields (no ``RelatedFieldListFilter`` over big tables), and search with prefix or exact lookups
(``^field`` / ``=field``) that an index serves, never ``%contains%``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.admin import SimpleHistoryAdmin

from core.errors import ApplicationError
from core.forms import reason_field
from core.permissions import user_group_names
from core.roles import AUDITOR

# A filtered changelist counts at most this many rows; past it the count is an estimate.
COUNT_CAP = 10_000


def user_is_auditor(user: Any) -> bool:
    """True for members of the auditor role (read with the permissions, once per request)."""
    return AUDITOR in user_group_names(user)


class LargeTablePaginator(Paginator):
    """A paginator that never runs an unbounded COUNT(*).

    The count is taken over at most `count_cap` + 1 rows (``SELECT COUNT(*) FROM (... LIMIT n)``);
    when the cap is reached, PostgreSQL's planner estimate for the whole table is used instead
    (so page links stay usable on a table of millions of rows, approximately numbered).
    """

    count_cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        qs = self.object_list
        if not isinstance(qs, QuerySet):
            return len(qs)
        capped = qs.order_by()[: self.count_cap + 1].count()
        if capped <= self.count_cap:
            return capped
        return max(capped, _estimated_rows(qs))


def _estimated_rows(qs: QuerySet) -> int:
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [qs.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else 0


class NoDeleteMixin:
    """Nothing is deleted from the admin, ever."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class AuditorReadOnlyMixin:
    """Auditors read everything and change nothing (no add, no change, no actions)."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        if user_is_auditor(request.user):
            return False
        return super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if user_is_auditor(request.user):
            return False
        return super().has_change_permission(request, obj)

    def get_actions(self, request: HttpRequest) -> dict:
        if user_is_auditor(request.user):
            return {}
        return super().get_actions(request)


class DomainReadOnlyMixin:
    """Domain rows are changed by services (admin actions), never in a free change form."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        declared = list(super().get_readonly_fields(request, obj))
        names = [f.name for f in self.model._meta.fields]
        return declared + [n for n in names if n not in declared]

    def revert_disabled(self, request: HttpRequest, obj: Any = None) -> bool:
        return True


class LargeTableMixin:
    """No full-table COUNT(*) on the changelist."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts are COUNT(*)s over the whole table
    paginator = LargeTablePaginator
    list_per_page = 50
    list_max_show_all = 200


class DomainAdmin(
    NoDeleteMixin, AuditorReadOnlyMixin, DomainReadOnlyMixin, LargeTableMixin, SimpleHistoryAdmin
):
    """Read-only admin for a domain model with history; changes through actions only."""


class StaffModelAdmin(NoDeleteMixin, AuditorReadOnlyMixin, LargeTableMixin, SimpleHistoryAdmin):
    """Editable admin (still no delete, read-only for auditors, with history)."""


# --- Actions that call a service with a reason ------------------------------------------------


class ReasonForm(forms.Form):
    reason = reason_field(help_text=gettext_lazy("Recorded in the history of every row changed."))


def reason_action_response(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    action: str,
    title: str,
    call: Callable[[Any, str], Any],
    describe: Callable[[Any], str] = str,
) -> HttpResponse | None:
    """Run an admin action as two steps: a page asking for a reason, then ``call(obj, reason)``
    for each selected row. ``ApplicationError`` from the service becomes an error message for
    that row; the others still go through (each call is its own transaction)."""
    form = ReasonForm(request.POST if "reason_confirmed" in request.POST else None)
    if "reason_confirmed" in request.POST and form.is_valid():
        reason = form.cleaned_data["reason"]
        done = 0
        for obj in queryset.order_by("pk"):
            try:
                call(obj, reason)
            except ApplicationError as exc:
                modeladmin.message_user(
                    request, f"{describe(obj)}: {exc.message}", level=messages.ERROR
                )
            else:
                done += 1
        if done:
            modeladmin.message_user(
                request,
                _("%(action)s: %(count)d done.") % {"action": title, "count": done},
                level=messages.SUCCESS,
            )
        return None
    objects = list(queryset.order_by("pk")[:200])
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "objects": [describe(obj) for obj in objects],
        "selected": [obj.pk for obj in objects],
        "action": action,
        "form": form,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/core/reason_action.html", context)
