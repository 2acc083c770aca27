"""`root-causes`: complaints decided in the range by root-cause tag and month (rollup + live).
Filter: category (the unauthorized-loan disputes are the ones the seed asks about)."""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.enums import Category, RootCause

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

# A decision always has a root cause; "" only for rows decided before the tag existed.
CAUSES = [*RootCause.values, ""]


def root_cause_filters() -> list[FilterSpec]:
    return [choice_specs("category", _("Category"), Category)]


def root_causes_build(params: ReportParams, now: datetime) -> Result:
    figures = ComplaintFigures(start=params.start, end=params.end, now=now)
    filters = {"category": params.filters.get("category", "")}
    by_month = figures.decisions(period="month", dims=["root_cause"], filters=filters)
    rows = [{"root_cause": k[1], **v} for k, v in by_month.items()]
    by_cause = fold(rows, lambda r: (r["root_cause"],), DECISION_METRICS)
    months = params.periods("month")
    labels = [period_label(m, "month") for m in months]
    causes = [c for c in CAUSES if c or by_cause.get(("",), {}).get("decided")]
    chart = charts.bar_chart(
        title=_("Decided complaints by root cause"),
        x_labels=labels,
        series=[
            (choice_label(RootCause, c), series([(m, c) for m in months], by_month, "decided"))
            for c in causes
        ],
        stacked=True,
    )
    month_rows = [
        [
            label,
            *(by_month.get((m, c), {}).get("decided", 0) for c in causes),
            sum(by_month.get((m, c), {}).get("decided", 0) for c in causes),
        ]
        for m, label in zip(months, labels, strict=True)
    ]
    total = sum(f["decided"] for f in by_cause.values())
    cause_rows = [
        [
            choice_label(RootCause, c),
            by_cause.get((c,), {}).get("decided", 0),
            rate(by_cause.get((c,), {}).get("decided", 0), total),
            by_cause.get((c,), {}).get("upheld_or_partly", 0),
        ]
        for c in causes
    ]
    return Result(
        charts=[Chart(_("Decided complaints by root cause"), chart)],
        tables=[
            Table(
                "by_month",
                _("Decided, by month and root cause"),
                [
                    period_column("month"),
                    *(Column(c or "none", choice_label(RootCause, c)) for c in causes),
                    Column("total", _("Total")),
                ],
                month_rows,
            ),
            Table(
                "by_root_cause",
                _("By root cause"),
                [
                    Column("root_cause", _("Root cause"), numeric=False),
                    Column("decided", _("Decided")),
                    Column("share", _("Share (%)")),
                    Column("upheld_or_partly", _("Upheld or partly upheld")),
                ],
                cause_rows,
            ),
        ],
        totals=[(_("Decided"), total)],
    )


ROOT_CAUSES = Report(
    name="root-causes",
    title=gettext_lazy("Root causes"),
    description=gettext_lazy("Decided complaints by root-cause tag and month."),
    build=root_causes_build,
    filters=root_cause_filters,
    queries=4,
)
