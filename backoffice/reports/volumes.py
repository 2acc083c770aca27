"""`volumes`: complaints received in the range by week (or month), category and channel (rollup +
live, one GROUP BY folded three ways); and, as of now, the open and overdue cases by queue and
by agent (workload), from the queues' own partial indexes. Filters: category, channel."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.enums import OPEN_STATUSES, Category, Channel, Status
from complaints.models import Complaint
from core.clock import REMINDER_BEFORE

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
    series,
)
from .complaint_figures import ComplaintFigures
from .params import FilterSpec, ReportParams


def volumes_filters() -> list[FilterSpec]:
    return [
        choice_specs("category", _("Category"), Category),
        choice_specs("channel", _("Channel"), Channel),
    ]


def open_case_metrics(now: datetime) -> dict[str, Count]:
    """The queues' conditions (as complaints.selectors.complaint_queue): overdue and due soon
    leave paused cases out."""
    running = Q(paused_at__isnull=True)
    return {
        "open": Count("pk"),
        "unassigned": Count("pk", filter=Q(assignee__isnull=True)),
        "overdue": Count("pk", filter=running & Q(due_at__lt=now)),
        "due_soon": Count(
            "pk", filter=running & Q(due_at__gte=now, due_at__lte=now + REMINDER_BEFORE)
        ),
        "paused": Count("pk", filter=Q(paused_at__isnull=False)),
    }


def _workload(now: datetime, filters: dict[str, str]) -> tuple[Table, Table]:
    open_cases = Complaint.objects.filter(
        status__in=OPEN_STATUSES, **{k: v for k, v in filters.items() if v}
    )
    metrics = open_case_metrics(now)
    by_status = {
        row["status"]: row for row in open_cases.values("status").annotate(**metrics).order_by()
    }
    by_agent = (
        open_cases.values("assignee__username")
        .annotate(**metrics)
        .order_by("-open", "assignee__username")
    )
    columns = [
        Column("open", _("Open")),
        Column("overdue", _("Overdue")),
        Column("due_soon", _("Due within 2 days")),
        Column("paused", _("Paused")),
    ]
    status_rows = [
        [
            choice_label(Status, code),
            *(by_status.get(code, {}).get(c.key, 0) for c in columns),
            by_status.get(code, {}).get("unassigned", 0),
        ]
        for code in OPEN_STATUSES
    ]
    agent_rows = [
        [row["assignee__username"] or _("(unassigned)"), *(row[c.key] for c in columns)]
        for row in by_agent
    ]
    return (
        Table(
            "open_by_queue",
            _("Open now, by status"),
            [
                Column("status", _("Status"), numeric=False),
                *columns,
                Column("unassigned", _("Unassigned")),
            ],
            status_rows,
        ),
        Table(
            "open_by_agent",
            _("Open now, by agent"),
            [Column("agent", _("Agent"), numeric=False), *columns],
            agent_rows,
        ),
    )


def volumes_build(params: ReportParams, now: datetime) -> Result:
    figures = ComplaintFigures(start=params.start, end=params.end, now=now)
    filters = {k: params.filters.get(k, "") for k in ("category", "channel")}
    period = params.period
    detail = figures.receipts(period=period, dims=["category", "channel"], filters=filters)
    rows = [{"period": k[0], "category": k[1], "channel": k[2], **v} for k, v in detail.items()]
    by_period_category = fold(rows, lambda r: (r["period"], r["category"]), ["received"])
    by_period = fold(rows, lambda r: (r["period"],), ["received"])
    by_channel = fold(rows, lambda r: (r["channel"],), ["received"])
    periods = params.periods()
    labels = [period_label(p, period) for p in periods]
    categories = [c for c in Category.values if not filters["category"] or c == filters["category"]]
    chart = charts.bar_chart(
        title=_("Complaints received"),
        x_labels=labels,
        series=[
            (
                choice_label(Category, c),
                series([(p, c) for p in periods], by_period_category, "received"),
            )
            for c in categories
        ],
        stacked=True,
    )
    period_rows = [
        [
            label,
            *(by_period_category.get((p, c), {}).get("received", 0) for c in categories),
            by_period.get((p,), {}).get("received", 0),
        ]
        for p, label in zip(periods, labels, strict=True)
    ]
    channel_rows = [
        [choice_label(Channel, code), by_channel.get((code,), {}).get("received", 0)]
        for code in Channel.values
        if not filters["channel"] or code == filters["channel"]
    ]
    by_queue, by_agent = _workload(now, filters)
    total = sum(v["received"] for v in by_period.values())
    return Result(
        charts=[Chart(_("Complaints received"), chart)],
        tables=[
            Table(
                "received",
                _("Received, by period and category"),
                [
                    period_column(period),
                    *(Column(c, choice_label(Category, c)) for c in categories),
                    Column("total", _("Total")),
                ],
                period_rows,
            ),
            Table(
                "received_by_channel",
                _("Received, by channel"),
                [Column("channel", _("Channel"), numeric=False), Column("received", _("Received"))],
                channel_rows,
            ),
            by_queue,
            by_agent,
        ],
        totals=[(_("Received"), total)],
    )


VOLUMES = Report(
    name="volumes",
    title=gettext_lazy("Volumes and workload"),
    description=gettext_lazy(
        "Complaints received by category, channel and week; open and overdue cases by queue "
        "and by agent."
    ),
    build=volumes_build,
    filters=volumes_filters,
    queries=6,
)
