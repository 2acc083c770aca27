"""`objections`: credit-report objection marks (CreditReportCorrection, kind `objection`) opened
in the range, by month: settled within the 20 days (`settled_at` by `due_at`), settled late,
withdrawn, not settled yet, and of those already past their 20th day. Live aggregate."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, DateField, F, Q
from django.db.models.functions import TruncMonth
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.enums import CorrectionKind, CorrectionStatus
from accounts.models import CreditReportCorrection
from core.clock import SHANGHAI

from . import charts
from .base import Chart, Column, Report, Result, Table, period_column, period_label, rate, series
from .complaint_figures import day_start
from .params import ReportParams

UNSETTLED = [CorrectionStatus.OPEN, CorrectionStatus.SENT]


def objection_metrics(now: datetime) -> dict:
    settled = Q(status=CorrectionStatus.SETTLED)
    return {
        "opened": Count("pk"),
        "settled_on_time": Count(
            "pk", filter=settled & LessThanOrEqual(F("settled_at"), F("due_at"))
        ),
        "settled_late": Count("pk", filter=settled & GreaterThan(F("settled_at"), F("due_at"))),
        "withdrawn": Count("pk", filter=Q(status=CorrectionStatus.WITHDRAWN)),
        "unsettled": Count("pk", filter=Q(status__in=UNSETTLED)),
        "unsettled_overdue": Count("pk", filter=Q(status__in=UNSETTLED, due_at__lt=now)),
    }


COLUMNS = [
    ("opened", gettext_lazy("Objections opened")),
    ("settled_on_time", gettext_lazy("Settled within 20 days")),
    ("settled_late", gettext_lazy("Settled late")),
    ("withdrawn", gettext_lazy("Withdrawn")),
    ("unsettled", gettext_lazy("Not settled yet")),
    ("unsettled_overdue", gettext_lazy("Not settled, past day 20")),
]


def objections_build(params: ReportParams, now: datetime) -> Result:
    start, end = day_start(params.start), day_start(params.end + timedelta(days=1))
    rows = CreditReportCorrection.objects.filter(
        kind=CorrectionKind.OBJECTION, opened_at__gte=start, opened_at__lt=end
    )
    month = TruncMonth("opened_at", tzinfo=SHANGHAI, output_field=DateField())
    by_month = {
        (r["month"],): r
        for r in rows.annotate(month=month)
        .values("month")
        .annotate(**objection_metrics(now))
        .order_by()
    }
    months = params.periods("month")
    keys = [(m,) for m in months]
    labels = [period_label(m, "month") for m in months]
    chart = charts.bar_chart(
        title=_("Credit-report objections"),
        x_labels=labels,
        series=[(str(label), series(keys, by_month, key)) for key, label in COLUMNS[1:5]],
        stacked=True,
    )
    total = {key: sum(r[key] for r in by_month.values()) for key, _label in COLUMNS}
    settled = total["settled_on_time"] + total["settled_late"]
    columns = [
        period_column("month"),
        *(Column(key, label) for key, label in COLUMNS),
        Column("on_time_rate", _("Settled within 20 days (percent of settled)")),
    ]
    table_rows = []
    for k, label in zip(keys, labels, strict=True):
        row = by_month.get(k, {})
        on_time, late = row.get("settled_on_time", 0), row.get("settled_late", 0)
        table_rows.append(
            [label, *(row.get(key, 0) for key, _l in COLUMNS), rate(on_time, on_time + late)]
        )
    return Result(
        charts=[Chart(_("Credit-report objections"), chart)],
        tables=[Table("by_month", _("By month opened"), columns, table_rows)],
        totals=[
            (_("Objections opened"), total["opened"]),
            (
                _("Settled within 20 days (percent of settled)"),
                rate(total["settled_on_time"], settled),
            ),
            (_("Not settled, past day 20"), total["unsettled_overdue"]),
        ],
    )


OBJECTIONS = Report(
    name="objections",
    title=gettext_lazy("Credit-report objections"),
    description=gettext_lazy("Objection marks from disputes, settled within 20 days or not."),
    build=objections_build,
    queries=1,
)
