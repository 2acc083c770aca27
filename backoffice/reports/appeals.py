"""`appeals`: appeals against closures filed in the range, by month and by the closure's reason:
upheld (the closure reversed), dismissed, still pending; the reversal rate (upheld of decided);
days to decision, and decided within the 15-day limit (by `due_at`) or late. Filter: the
closure's reason. Live aggregates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Avg, Count, DateField, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncMonth
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closures.enums import OPEN_APPEAL_STATUSES, AppealStatus, ClosureReason
from closures.models import Appeal
from core.clock import SHANGHAI

from . import charts
from .base import (
    Chart,
    Column,
    Report,
    Result,
    Table,
    choice_label,
    choice_specs,
    period_column,
    period_label,
    rate,
    series,
)
from .complaint_figures import day_start
from .params import FilterSpec, ReportParams

DECIDED = [AppealStatus.UPHELD, AppealStatus.DISMISSED]


def appeal_filters() -> list[FilterSpec]:
    return [choice_specs("reason", _("Closure reason"), ClosureReason)]


def appeal_metrics() -> dict:
    decided = Q(status__in=DECIDED)
    return {
        "filed": Count("pk"),
        "upheld": Count("pk", filter=Q(status=AppealStatus.UPHELD)),
        "dismissed": Count("pk", filter=Q(status=AppealStatus.DISMISSED)),
        "pending": Count("pk", filter=Q(status__in=OPEN_APPEAL_STATUSES)),
        "on_time": Count("pk", filter=decided & LessThanOrEqual(F("decided_at"), F("due_at"))),
        "days": Avg(
            ExpressionWrapper(F("decided_at") - F("filed_at"), output_field=DurationField()),
            filter=decided,
        ),
    }


def _columns() -> list[Column]:
    return [
        Column("filed", _("Appeals filed")),
        Column("upheld", _("Upheld (closure reversed)")),
        Column("dismissed", _("Dismissed")),
        Column("pending", _("Not decided yet")),
        Column("reversal_rate", _("Reversal rate (%)")),
        Column("decided_within_limit", _("Decided within 15 days")),
        Column("decided_late", _("Decided late")),
        Column("average_days", _("Average days to decision")),
    ]


def _cells(row: dict) -> list:
    decided = row.get("upheld", 0) + row.get("dismissed", 0)
    days = row.get("days")
    return [
        row.get("filed", 0),
        row.get("upheld", 0),
        row.get("dismissed", 0),
        row.get("pending", 0),
        rate(row.get("upheld", 0), decided),
        row.get("on_time", 0),
        decided - row.get("on_time", 0),
        round(days.total_seconds() / 86400, 1) if days is not None else None,
    ]


def appeals_build(params: ReportParams, now: datetime) -> Result:
    start, end = day_start(params.start), day_start(params.end + timedelta(days=1))
    rows = Appeal.objects.filter(filed_at__gte=start, filed_at__lt=end)
    if params.filters.get("reason"):
        rows = rows.filter(closure__reason=params.filters["reason"])
    month = TruncMonth("filed_at", tzinfo=SHANGHAI, output_field=DateField())
    by_month = {
        (r["month"],): r
        for r in rows.annotate(month=month).values("month").annotate(**appeal_metrics()).order_by()
    }
    by_reason = {
        r["closure__reason"]: r
        for r in rows.values("closure__reason").annotate(**appeal_metrics()).order_by()
    }
    months = params.periods("month")
    labels = [period_label(m, "month") for m in months]
    keys = [(m,) for m in months]
    chart = charts.bar_chart(
        title=_("Appeal outcomes"),
        x_labels=labels,
        series=[
            (_("Upheld (closure reversed)"), series(keys, by_month, "upheld")),
            (_("Dismissed"), series(keys, by_month, "dismissed")),
            (_("Not decided yet"), series(keys, by_month, "pending")),
        ],
        stacked=True,
    )
    reasons = [
        r
        for r in ClosureReason.values
        if not params.filters.get("reason") or r == params.filters["reason"]
    ]
    upheld = sum(r["upheld"] for r in by_reason.values())
    decided = upheld + sum(r["dismissed"] for r in by_reason.values())
    return Result(
        charts=[Chart(_("Appeal outcomes"), chart)],
        tables=[
            Table(
                "by_month",
                _("By month of filing"),
                [period_column("month"), *_columns()],
                [
                    [label, *_cells(by_month.get(k, {}))]
                    for k, label in zip(keys, labels, strict=True)
                ],
            ),
            Table(
                "by_reason",
                _("By closure reason"),
                [Column("reason", _("Closure reason"), numeric=False), *_columns()],
                [[choice_label(ClosureReason, r), *_cells(by_reason.get(r, {}))] for r in reasons],
            ),
        ],
        totals=[
            (_("Appeals filed"), sum(r["filed"] for r in by_reason.values())),
            (_("Reversal rate (%)"), rate(upheld, decided)),
            (_("Not decided yet"), sum(r["pending"] for r in by_reason.values())),
        ],
    )


APPEALS = Report(
    name="appeals",
    title=gettext_lazy("Appeals against closures"),
    description=gettext_lazy(
        "Outcomes, reversal rate and days to decision against the 15-day limit."
    ),
    build=appeals_build,
    filters=appeal_filters,
    queries=2,
)
