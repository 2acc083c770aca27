"""`closures`: closures requested or proposed in the range, by reason and month, by proposer
(the source: customer, risk engine, risk scan, risk officer, agent), how many were reversed on
appeal; and the abnormal-closure alerts raised in the range, by rule and month. Filters: reason,
source. Live aggregates (closures are far fewer than complaints)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, DateField, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from closures.enums import AlertRule, ClosureReason, ClosureSource, ClosureStatus
from closures.models import ClosureAlert, ClosureRequest
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

IN_EFFECT = [ClosureStatus.CLOSING, ClosureStatus.CLOSED, ClosureStatus.REVERSED]


def closure_filters() -> list[FilterSpec]:
    return [
        choice_specs("reason", _("Reason"), ClosureReason),
        choice_specs("source", _("Proposed by"), ClosureSource),
    ]


def _metrics() -> dict[str, Count]:
    return {
        "requested": Count("pk"),
        "in_effect": Count("pk", filter=Q(status__in=IN_EFFECT)),
        "rejected": Count("pk", filter=Q(status=ClosureStatus.REJECTED)),
        "withdrawn": Count("pk", filter=Q(status=ClosureStatus.WITHDRAWN)),
        "reversed": Count("pk", filter=Q(status=ClosureStatus.REVERSED)),
    }


def _columns() -> list[Column]:
    return [
        Column("requested", _("Requested or proposed")),
        Column("in_effect", _("Took effect")),
        Column("rejected", _("Rejected")),
        Column("withdrawn", _("Withdrawn")),
        Column("reversed", _("Reversed on appeal")),
        Column("reversed_rate", _("Reversed (percent of those in effect)")),
    ]


def _cells(row: dict) -> list:
    keys = ["requested", "in_effect", "rejected", "withdrawn", "reversed"]
    return [*(row.get(k, 0) for k in keys), rate(row.get("reversed", 0), row.get("in_effect", 0))]


def closures_build(params: ReportParams, now: datetime) -> Result:
    start, end = day_start(params.start), day_start(params.end + timedelta(days=1))
    filters = {k: v for k, v in params.filters.items() if v}
    rows = ClosureRequest.objects.filter(created_at__gte=start, created_at__lt=end, **filters)
    month = TruncMonth("created_at", tzinfo=SHANGHAI, output_field=DateField())
    by_month_reason = {
        (r["month"], r["reason"]): r
        for r in rows.annotate(month=month)
        .values("month", "reason")
        .annotate(**_metrics())
        .order_by()
    }
    by_source_reason = {
        (r["source"], r["reason"]): r
        for r in rows.values("source", "reason").annotate(**_metrics()).order_by()
    }
    alerts = {
        (r["month"], r["rule"]): r["n"]
        for r in ClosureAlert.objects.filter(raised_at__gte=start, raised_at__lt=end)
        .annotate(month=TruncMonth("raised_at", tzinfo=SHANGHAI, output_field=DateField()))
        .values("month", "rule")
        .annotate(n=Count("pk"))
        .order_by()
    }
    months = params.periods("month")
    labels = [period_label(m, "month") for m in months]
    reasons = [
        r for r in ClosureReason.values if not filters.get("reason") or r == filters["reason"]
    ]
    chart = charts.bar_chart(
        title=_("Closures by reason"),
        x_labels=labels,
        series=[
            (
                choice_label(ClosureReason, r),
                series([(m, r) for m in months], by_month_reason, "requested"),
            )
            for r in reasons
        ],
        stacked=True,
    )

    def total(groups: dict, match) -> dict:
        out: dict = {}
        for key, row in groups.items():
            if match(key):
                for k in ("requested", "in_effect", "rejected", "withdrawn", "reversed"):
                    out[k] = out.get(k, 0) + row[k]
        return out

    month_rows = [
        [label, *_cells(total(by_month_reason, lambda k, m=m: k[0] == m))]
        for m, label in zip(months, labels, strict=True)
    ]
    reason_rows = [
        [choice_label(ClosureReason, r), *_cells(total(by_month_reason, lambda k, r=r: k[1] == r))]
        for r in reasons
    ]
    source_rows = [
        [choice_label(ClosureSource, s), *_cells(total(by_source_reason, lambda k, s=s: k[0] == s))]
        for s in ClosureSource.values
        if not filters.get("source") or s == filters["source"]
    ]
    alert_rows = [
        [label, *(alerts.get((m, rule), 0) for rule in AlertRule.values)]
        for m, label in zip(months, labels, strict=True)
    ]
    everything = total(by_month_reason, lambda k: True)
    return Result(
        charts=[Chart(_("Closures by reason"), chart)],
        tables=[
            Table("by_month", _("By month"), [period_column("month"), *_columns()], month_rows),
            Table(
                "by_reason",
                _("By reason"),
                [Column("reason", _("Reason"), numeric=False), *_columns()],
                reason_rows,
            ),
            Table(
                "by_source",
                _("By proposer"),
                [Column("source", _("Proposed by"), numeric=False), *_columns()],
                source_rows,
            ),
            Table(
                "alerts",
                _("Abnormal-closure alerts"),
                [
                    period_column("month"),
                    *(Column(rule, choice_label(AlertRule, rule)) for rule in AlertRule.values),
                ],
                alert_rows,
            ),
        ],
        totals=[
            (_("Requested or proposed"), everything.get("requested", 0)),
            (_("Reversed on appeal"), everything.get("reversed", 0)),
            (_("Abnormal-closure alerts"), sum(alerts.values())),
        ],
    )


CLOSURES = Report(
    name="closures",
    title=gettext_lazy("Closures"),
    description=gettext_lazy(
        "Closures by reason and month, by proposer, reversed on appeal; abnormal-closure alerts."
    ),
    build=closures_build,
    filters=closure_filters,
    queries=3,
)
