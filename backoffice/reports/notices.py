"""`notices`: notices written to the outbox in the range, by channel and by event, with their
delivery status (pending, sending, sent, failed). The data model has no separate `unknown`
status yet: a notice whose worker died after the provider accepted it stays `sending` until
the sweep settles it, so `sending` is where such notices show. Filters: channel, event (exact).
Live aggregates."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notices.enums import Channel, NoticeStatus
from notices.models import Notice

from . import charts
from .base import Chart, Column, Report, Result, Table, choice_label, choice_specs, fold, rate
from .complaint_figures import day_start
from .params import FilterSpec, ReportParams


def notice_filters() -> list[FilterSpec]:
    return [choice_specs("channel", _("Channel"), Channel), FilterSpec("event", _("Event"))]


def _metrics() -> dict:
    return {
        "written": Count("pk"),
        **{status: Count("pk", filter=Q(status=status)) for status in NoticeStatus.values},
    }


def _columns() -> list[Column]:
    return [
        Column("written", _("Written")),
        *(Column(s, choice_label(NoticeStatus, s)) for s in NoticeStatus.values),
        Column("failed_rate", _("Failed (%)")),
    ]


def _cells(row: dict) -> list:
    return [
        row.get("written", 0),
        *(row.get(s, 0) for s in NoticeStatus.values),
        rate(row.get("failed", 0), row.get("written", 0)),
    ]


def notices_build(params: ReportParams, now: datetime) -> Result:
    start, end = day_start(params.start), day_start(params.end + timedelta(days=1))
    rows = Notice.objects.filter(created_at__gte=start, created_at__lt=end)
    for name in ("channel", "event"):
        if params.filters.get(name):
            rows = rows.filter(**{name: params.filters[name]})
    # One GROUP BY (channel, event), folded both ways (a few dozen aggregate rows).
    pairs = list(rows.values("channel", "event").annotate(**_metrics()).order_by())
    metrics = ["written", *NoticeStatus.values]
    by_channel = fold(pairs, lambda r: r["channel"], metrics)
    by_event = [
        {"event": event, **figures}
        for event, figures in sorted(
            fold(pairs, lambda r: r["event"], metrics).items(),
            key=lambda kv: (-kv[1]["written"], kv[0]),
        )
    ]
    channels = [
        c
        for c in Channel.values
        if not params.filters.get("channel") or c == params.filters["channel"]
    ]
    labels = [choice_label(Channel, c) for c in channels]
    chart = charts.bar_chart(
        title=_("Notices by channel and status"),
        x_labels=labels,
        series=[
            (choice_label(NoticeStatus, s), [by_channel.get(c, {}).get(s, 0) for c in channels])
            for s in NoticeStatus.values
        ],
        stacked=True,
    )
    written = sum(r["written"] for r in by_channel.values())
    failed = sum(r["failed"] for r in by_channel.values())
    return Result(
        charts=[Chart(_("Notices by channel and status"), chart)],
        tables=[
            Table(
                "by_channel",
                _("By channel"),
                [Column("channel", _("Channel"), numeric=False), *_columns()],
                [
                    [label, *_cells(by_channel.get(c, {}))]
                    for c, label in zip(channels, labels, strict=True)
                ],
            ),
            Table(
                "by_event",
                _("By event"),
                [Column("event", _("Event"), numeric=False), *_columns()],
                [[r["event"], *_cells(r)] for r in by_event],
            ),
        ],
        totals=[
            (_("Written"), written),
            (_("Failed"), failed),
            (_("Failed (%)"), rate(failed, written)),
        ],
    )


NOTICES = Report(
    name="notices",
    title=gettext_lazy("Notice delivery"),
    description=gettext_lazy("Notices sent, failed or still pending, by channel and event."),
    build=notices_build,
    filters=notice_filters,
    queries=1,
)
