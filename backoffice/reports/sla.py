"""`sla`: complaints decided in the range, by week (or month) and by category: decided by the
clock's own due date (`due_at`, net of pauses and extensions) or late; decided within 15, 30 and
60 calendar days of receipt (cumulative); decided after an extension, a second extension, a
pause. Filters: category, channel. Figures from complaint_figures (rollup + live)."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.enums import Category, Channel

from . import charts
from .base import (
    Chart,
    Column,
    Report,
    Result,
    Table,
    choice_label,
    choice_specs,
    fold,
    period_column,
    period_label,
    rate,
    series,
)
from .complaint_figures import DECISION_METRICS, ComplaintFigures
from .params import FilterSpec, ReportParams


def sla_filters() -> list[FilterSpec]:
    return [
        choice_specs("category", _("Category"), Category),
        choice_specs("channel", _("Channel"), Channel),
    ]


def sla_columns() -> list[Column]:
    return [
        Column("decided", _("Decided")),
        Column("on_time", _("By the due date")),
        Column("late", _("Late")),
        Column("on_time_rate", _("By the due date (%)")),
        Column("within_15_days", _("Within 15 days")),
        Column("within_30_days", _("Within 30 days")),
        Column("within_60_days", _("Within 60 days")),
        Column("over_60_days", _("Over 60 days")),
        Column("extended", _("Extended")),
        Column("extended_twice", _("Extended twice")),
        Column("paused", _("Paused")),
    ]


def sla_cells(f: dict[str, int]) -> list[int | float | None]:
    decided = f.get("decided", 0)
    on_time = f.get("decided_on_time", 0)
    return [
        decided,
        on_time,
        decided - on_time,
        rate(on_time, decided),
        f.get("decided_within_15", 0),
        f.get("decided_within_30", 0),
        f.get("decided_within_60", 0),
        decided - f.get("decided_within_60", 0),
        f.get("extended", 0),
        f.get("extended_twice", 0),
        f.get("paused", 0),
    ]


def sla_build(params: ReportParams, now: datetime) -> Result:
    figures = ComplaintFigures(start=params.start, end=params.end, now=now)
    filters = {k: params.filters.get(k, "") for k in ("category", "channel")}
    period = params.period
    # One GROUP BY (period, category), folded both ways: a few dozen aggregate rows.
    detail = figures.decisions(period=period, dims=["category"], filters=filters)
    rows = [{"period": k[0], "category": k[1], **v} for k, v in detail.items()]
    by_period = fold(rows, lambda r: (r["period"],), DECISION_METRICS)
    by_category = fold(rows, lambda r: (r["category"],), DECISION_METRICS)
    keys = [(p,) for p in params.periods()]
    labels = [period_label(p, period) for p in params.periods()]
    on_time = series(keys, by_period, "decided_on_time")
    decided = series(keys, by_period, "decided")
    chart = charts.bar_chart(
        title=_("Complaints decided by the due date and late"),
        x_labels=labels,
        series=[
            (_("By the due date"), on_time),
            (_("Late"), [d - o for d, o in zip(decided, on_time, strict=True)]),
        ],
        stacked=True,
    )
    period_rows = [
        [label, *sla_cells(by_period.get(key, {}))] for key, label in zip(keys, labels, strict=True)
    ]
    category_rows = [
        [choice_label(Category, code), *sla_cells(by_category.get((code,), {}))]
        for code in Category.values
    ]
    total = {name: sum(f[name] for f in by_category.values()) for name in DECISION_METRICS}
    cells = sla_cells(total)
    return Result(
        charts=[Chart(_("Complaints decided by the due date and late"), chart)],
        tables=[
            Table(
                "by_period",
                _("By period of decision"),
                [period_column(period), *sla_columns()],
                period_rows,
            ),
            Table(
                "by_category",
                _("By category"),
                [Column("category", _("Category"), numeric=False), *sla_columns()],
                category_rows,
            ),
        ],
        totals=[
            (_("Decided"), cells[0]),
            (_("By the due date (%)"), cells[3]),
            (_("Within 15 days"), cells[4]),
            (_("Late"), cells[2]),
        ],
    )


SLA = Report(
    name="sla",
    title=gettext_lazy("Decision deadlines (SLA)"),
    description=gettext_lazy(
        "Complaints decided in the range: by the clock's own due date or late, within 15, 30 "
        "and 60 days of receipt, after extensions and pauses."
    ),
    build=sla_build,
    filters=sla_filters,
    queries=4,
)
