"""`{% load complaint_queue %}{% queue_result_list cl %}`: the queue's table, the same markup as
Django's `{% result_list cl %}` (admin/change_list_results.html), its rows built in one pass.

Django's `items_for_result` looks every cell up again (`lookup_field`, `label_for_field`, the
field's choices rebuilt, `format_html` twice) and the template then loops over every cell:
~0.25 ms a row, most of a 25-row queue page's rendering (bench.complaints). Here each column
is resolved once per page (the field, its translated choice labels, the admin method) and a row
is one string; the headers (sorting links) still come from Django's `result_headers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import _coerce_field_name, result_headers
from django.contrib.admin.utils import display_for_value
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

Cell = Callable[[Any], Any]


def _field_cell(field: models.Field, empty: str) -> tuple[Cell, bool]:
    """(obj -> the cell's content, whether it is `nowrap`) of a model field, as
    django.contrib.admin.utils.display_for_field shows it."""
    name = field.name
    if isinstance(field, models.ForeignKey):

        def related(obj: Any) -> Any:
            value = getattr(obj, name)
            return empty if value is None else value

        return related, True
    if getattr(field, "flatchoices", None):
        labels = {value: str(label) for value, label in field.flatchoices}

        def choice(obj: Any) -> Any:
            value = getattr(obj, name)
            try:
                return labels.get(value, empty)
            except TypeError:  # an unhashable value: never a choice
                return empty

        return choice, False
    if isinstance(field, models.DateTimeField):

        def moment(obj: Any) -> Any:
            value = getattr(obj, name)
            return empty if value is None else formats.localize(timezone.template_localtime(value))

        return moment, True
    nowrap = isinstance(field, (models.DateField, models.TimeField))

    def plain(obj: Any) -> Any:
        value = getattr(obj, name)
        if isinstance(value, str) and value.strip() == "":
            value = ""
        return display_for_value(value, empty)

    return plain, nowrap


def _columns(cl: Any) -> list[tuple[str, Cell]]:
    """(the cell's class attribute, obj -> its content) of each column of `cl.list_display`."""
    model_admin = cl.model_admin
    empty = model_admin.get_empty_value_display()
    columns: list[tuple[str, Cell]] = []
    for index, name in enumerate(cl.list_display):
        css = f"field-{_coerce_field_name(name, index)}"
        if name == "action_checkbox":
            columns.append(("action-checkbox", model_admin.action_checkbox))
            continue
        if callable(name):
            attr = name
        elif hasattr(model_admin, name) and name != "__str__":
            attr = getattr(model_admin, name)
        else:
            try:
                field = cl.lookup_opts.get_field(name)
            except FieldDoesNotExist:
                field = None
            if field is not None and not field.auto_created:
                cell, nowrap = _field_cell(field, empty)
                columns.append((f"{css} nowrap" if nowrap else css, cell))
                continue
            attr = None

        def call(obj: Any, attr: Any = attr, name: Any = name) -> Any:
            value = attr(obj) if attr is not None else getattr(obj, name)
            if callable(value) and attr is None:
                value = value()
            if isinstance(value, str) and value.strip() == "":
                value = ""
            return display_for_value(value, empty, getattr(attr, "boolean", False))

        columns.append((css, call))
    return columns


def queue_rows_html(cl: Any) -> SafeString:
    """Every row of the page: `<tr><td class="field-…">…</td>…</tr>`, escaped here."""
    columns = [(f'<td class="{css}">', cell) for css, cell in _columns(cl)]
    rows = []
    for obj in cl.result_list:
        cells = "".join(f"{td}{conditional_escape(cell(obj))}</td>" for td, cell in columns)
        rows.append(f"<tr>{cells}</tr>")
    return mark_safe("\n".join(rows))  # noqa: S308 - every cell escaped above


@register.simple_tag
def queue_result_list(cl: Any) -> SafeString:
    if cl.formset:  # list_editable (not used by the queue): Django's own rendering
        from django.contrib.admin.templatetags.admin_list import result_list

        return render_to_string("admin/change_list_results.html", result_list(cl))
    headers = list(result_headers(cl))
    return render_to_string(
        "admin/complaints/complaint/queue_results.html",
        {
            "cl": cl,
            "result_headers": headers,
            "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
            "rows": queue_rows_html(cl) if cl.result_list else "",
        },
    )
