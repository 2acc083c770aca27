"""A report's table as CSV: UTF-8 with a byte-order mark (Excel then reads Chinese text), the
columns' stable keys as the header, one line per table row (the rows are aggregates: a report's
table is small, so it is written at once rather than streamed)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from core.clock import SHANGHAI

from .base import Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    text = str(value)
    if isinstance(value, str) and text[:1] in FORMULA_STARTS:
        # A merchant or event name must not run as a spreadsheet formula.
        return "'" + text
    return text


def table_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([column.key for column in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return "\ufeff" + out.getvalue()


def csv_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(
        table_csv(table).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
