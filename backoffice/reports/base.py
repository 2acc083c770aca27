"""What a report is made of: a chart, the tables it was drawn from, notes; and the small helpers the
reports share (labels of periods and codes, rates, zero-filled series)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import TextChoices
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from .charts import Drawing
from .params import FilterSpec, ReportParams


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header (stable, English)
    label: str | Promise  # the page's header (translated)
    numeric: bool = True


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool


def display(value: Any) -> Cell:
    """How a cell reads on the page (the CSV keeps the raw value)."""
    if value is None:
        return Cell("—", True)
    if isinstance(value, bool):
        return Cell(str(value), False)
    if isinstance(value, int):
        return Cell(number_format(value, force_grouping=True), True)
    if isinstance(value, float):
        return Cell(number_format(value, decimal_pos=1, force_grouping=True), True)
    if isinstance(value, Decimal):
        return Cell("¥" + number_format(value, decimal_pos=2, force_grouping=True), True)
    if isinstance(value, datetime):
        return Cell(timezone.localtime(value).strftime("%Y-%m-%d %H:%M"), False)
    if isinstance(value, date):
        return Cell(value.isoformat(), False)
    return Cell(str(value), False)


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]

    @property
    def display_rows(self) -> list[list[Cell]]:
        return [[display(cell) for cell in row] for row in self.rows]


@dataclass
class Chart:
    title: str
    drawing: Drawing
    # The chart's numbers as a table, where no table of the report already holds them.
    table: Table | None = None

    @property
    def svg(self) -> SafeString:
        return self.drawing.svg

    @property
    def legend(self) -> list[tuple[int, str]]:
        return self.drawing.legend


@dataclass
class Result:
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Headline totals shown above the chart: [(label, value)].
    totals: list[tuple[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    name: str
    title: Promise
    description: Promise
    build: Callable[[ReportParams, datetime], Result]
    filters: Callable[[], list[FilterSpec]] = list
    # How many database queries `build` runs, whatever the rows (checked by the tests).
    queries: int = 0
    ranged: bool = True  # False: figures of "now" only (no from/to)


def period_label(start: date, period: str) -> str:
    return start.strftime("%Y-%m") if period == "month" else start.isoformat()


def period_column(period: str) -> Column:
    label = _("Month") if period == "month" else _("Week of")
    return Column(period, label, numeric=False)


def choice_label(choices: type[TextChoices], value: str, blank: str = "") -> str:
    if not value:
        return blank or _("(none)")
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def rate(part: int | None, whole: int | None) -> float | None:
    """A percentage with one decimal, or None when there is nothing to divide."""
    if not whole:
        return None
    return round(100.0 * (part or 0) / whole, 1)


def series(keys: Sequence[Any], figures: Mapping[Any, Mapping[str, Any]], metric: str) -> list[int]:
    """Zero-filled values of `metric` for each key, in order."""
    return [int((figures.get(k) or {}).get(metric) or 0) for k in keys]


def choice_specs(name: str, label: str | Promise, choices: type[TextChoices]) -> FilterSpec:
    return FilterSpec(name=name, label=str(label), choices=list(choices.choices))


def money(value: Decimal | None) -> Decimal:
    return (value or Decimal("0")).quantize(Decimal("0.01"))


def fold(
    rows: Iterable[Mapping[str, Any]],
    key: Callable[[Mapping[str, Any]], Any],
    metrics: Sequence[str],
) -> dict[Any, dict[str, int]]:
    """Sum already-aggregated rows over a coarser key (a handful of GROUP BY rows, never the
    table's rows)."""
    out: dict[Any, dict[str, int]] = {}
    for row in rows:
        target = out.setdefault(key(row), dict.fromkeys(metrics, 0))
        for metric in metrics:
            target[metric] += row.get(metric) or 0
    return out
