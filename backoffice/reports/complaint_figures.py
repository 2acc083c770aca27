"""Complaint figures by day, week or month: the daily rollup for closed days, a live query for the
rest (PRODUCT.md "Scale and speed": reports aggregate in SQL, ≤ 500 ms at 1M complaints).

Two families of figures, each an aggregate of the complaints table:

- receipt figures (`received`), on the local day (Asia/Shanghai) of receipt;
- decision figures (`decided`, by the due date, within 15 / 30 / 60 calendar days, after an
  extension, a second extension, a pause; upheld or partly upheld), on the day of the decision.

Closed days are read from `backoffice.ComplaintDayFigures`, which the sweep fills once a day is
over (`report_rollup_refresh`, one set-based GROUP BY per family over the days not rolled yet).
Days not rolled yet are counted live. Today is always live, bounded by the complaints that
changed today: every receipt and every decision writes a history row, and
`complaints_historicalcomplaint.history_date` is indexed, so today's live query reads only the
day's rows however large the table is. Unrolled past days (the sweep has not run, as in tests
or a fresh `make run`) are a plain range query: correct, only slower on a large table.

A rolled day is final: a complaint entered later with a receipt time on a day already rolled
(a letter typed in days after it arrived), or a decision changed by a review, is not re-counted
there. `report_rollup_refresh(rebuild_from=day)` recomputes every day from `day` on.

The same ORM expressions run on SQLite (`make run`): Trunc* with a tzinfo and FILTER (emulated
by CASE) are portable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import (
    Count,
    DateField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncMonth, TruncWeek
from django.db.models.lookups import LessThanOrEqual

from backoffice.models import ComplaintDayFigures, ReportRollupDay
from complaints.enums import OPEN_STATUSES, Outcome
from complaints.models import Complaint
from core.clock import SHANGHAI, local_date

RECEIPT_METRICS = ("received",)
DECISION_METRICS = (
    "decided",
    "decided_on_time",
    "decided_within_15",
    "decided_within_30",
    "decided_within_60",
    "extended",
    "extended_twice",
    "paused",
    "upheld_or_partly",
)
DIMENSIONS = ("category", "channel", "root_cause")
PERIODS = ("day", "week", "month")

Key = tuple[Any, ...]
Figures = dict[Key, dict[str, int]]


def day_start(day: date) -> datetime:
    """Midnight opening `day`, Asia/Shanghai."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def _within(days: int) -> LessThanOrEqual:
    """Decided on or before local day N after the local day of receipt (calendar days)."""
    deadline = ExpressionWrapper(
        TruncDate("received_at", tzinfo=SHANGHAI) + Value(timedelta(days=days)),
        output_field=DateField(),
    )
    return LessThanOrEqual(TruncDate("decided_at", tzinfo=SHANGHAI), deadline)


def _live_metrics(family: str) -> dict[str, Count]:
    if family == "receipt":
        return {"received": Count("pk")}
    return {
        "decided": Count("pk"),
        "decided_on_time": Count("pk", filter=LessThanOrEqual(F("decided_at"), F("due_at"))),
        "decided_within_15": Count("pk", filter=_within(15)),
        "decided_within_30": Count("pk", filter=_within(30)),
        "decided_within_60": Count("pk", filter=_within(60)),
        "extended": Count("pk", filter=Q(clock_days__gt=15)),
        "extended_twice": Count("pk", filter=Q(clock_days__gte=60)),
        "paused": Count("pk", filter=Q(paused_days__gt=0)),
        "upheld_or_partly": Count(
            "pk", filter=Q(outcome__in=[Outcome.UPHELD, Outcome.PARTIALLY_UPHELD])
        ),
    }


def _stamp(family: str) -> str:
    return "received_at" if family == "receipt" else "decided_at"


def _live_period(family: str, period: str | None) -> Any:
    stamp = _stamp(family)
    if period == "week":
        return TruncWeek(stamp, tzinfo=SHANGHAI, output_field=DateField())
    if period == "month":
        return TruncMonth(stamp, tzinfo=SHANGHAI, output_field=DateField())
    return TruncDate(stamp, tzinfo=SHANGHAI)


def _rollup_period(period: str | None) -> Any:
    if period == "week":
        return TruncWeek("day", output_field=DateField())
    if period == "month":
        return TruncMonth("day", output_field=DateField())
    return F("day")


def _dims(dims: Iterable[str], family: str) -> list[str]:
    dims = list(dims)
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r}")
    if family == "receipt" and "root_cause" in dims:
        raise ValueError("receipts have no root cause")
    return dims


def _grouped(
    rows: QuerySet, *, period_expr: Any, period: str | None, dims: list[str], metrics: dict
) -> Iterable[dict[str, Any]]:
    """One aggregate row per group (GROUP BY), or the one total row when nothing is grouped."""
    names = list(dims)
    if period is not None:
        rows = rows.annotate(period=period_expr)
        names = ["period", *names]
    if names:
        return rows.values(*names).annotate(**metrics).order_by(*names)
    return [rows.aggregate(**metrics)]


def _key(row: dict, period: str | None, dims: list[str]) -> Key:
    values = [row[d] for d in dims]
    if period is not None:
        values.insert(0, row["period"])
    return tuple(values)


class ComplaintFigures:
    """Reads complaint figures for the local days `start`..`end` (inclusive).

    Construction runs two queries (which days are rolled up; which complaints changed today);
    each `receipts()` / `decisions()` call runs two (the rollup's sums, the live part) and
    `overdue_open()` one, whatever the number of rows.
    """

    def __init__(self, *, start: date, end: date, now: datetime) -> None:
        self.start, self.end = start, end
        self.today = local_date(now)
        self.now = now
        days = ReportRollupDay.objects.filter(day__gte=start, day__lte=end).values_list(
            "day", "has_snapshot"
        )
        rolled = {day for day, _snapshot in days}
        self.snapshots = {day for day, snapshot in days if snapshot}
        live_from = start
        while live_from in rolled and live_from <= end:
            live_from += timedelta(days=1)
        self.live_from = live_from
        # The complaints that changed today (history_date is indexed): the live part of today
        # reads them by primary key. Ids only, a day's worth; one query whatever the table.
        self.changed_today = list(
            Complaint.history.filter(history_date__gte=day_start(self.today))
            .order_by()  # the history's default ordering would defeat DISTINCT
            .values_list("id", flat=True)
            .distinct()
        )

    def _live(self, family: str, filters: dict[str, str]) -> QuerySet:
        stamp = _stamp(family)
        rows = Complaint.objects.filter(
            **{f"{stamp}__gte": day_start(self.live_from)},
            **{f"{stamp}__lt": day_start(self.end + timedelta(days=1))},
            **filters,
        )
        if self.live_from > self.end:
            # Everything is rolled up: the live part is empty. [0] matches no row but keeps
            # the query, so the count of queries never depends on the data.
            rows = rows.filter(pk__in=[0])
        elif self.live_from >= self.today:
            # Only today is live: the complaints that changed today, by primary key (a plain
            # IN (subquery) lets the planner scan the whole table instead).
            rows = rows.filter(pk__in=self.changed_today or [0])
        return rows

    def _rolled(self, family: str, filters: dict[str, str]) -> QuerySet:
        rows = ComplaintDayFigures.objects.filter(
            day__gte=self.start, day__lt=self.live_from, **filters
        )
        if family == "receipt":
            rows = rows.filter(root_cause="")
        return rows

    def figures(
        self,
        family: str,
        *,
        period: str | None = None,
        dims: Iterable[str] = (),
        filters: dict[str, str] | None = None,
    ) -> Figures:
        """{(period start?, *dimension values): {metric: count}} for one family."""
        if period is not None and period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        dims = _dims(dims, family)
        filters = {k: v for k, v in (filters or {}).items() if v}
        names = RECEIPT_METRICS if family == "receipt" else DECISION_METRICS
        out: Figures = defaultdict(lambda: dict.fromkeys(names, 0))
        rolled = _grouped(
            self._rolled(family, filters),
            period_expr=_rollup_period(period),
            period=period,
            dims=dims,
            metrics={name: Coalesce(Sum(name), 0) for name in names},
        )
        live = _grouped(
            self._live(family, filters),
            period_expr=_live_period(family, period),
            period=period,
            dims=dims,
            metrics=_live_metrics(family),
        )
        for rows in (rolled, live):
            for row in rows:
                target = out[_key(row, period, dims)]
                for name in names:
                    target[name] += row[name] or 0
        return dict(out)

    def overdue_open(self, *, day: date, dims: Iterable[str] = ()) -> dict[Key, int] | None:
        """Open and overdue complaints at the end of `day` (within the range): live now when
        `day` is today, else the rollup's end-of-day snapshot; None when that day has none.
        One query either way."""
        dims = list(dims)
        if day >= self.today:
            rows = Complaint.objects.filter(status__in=OPEN_STATUSES, due_at__lt=self.now)
            metric: Any = Count("pk")
        else:
            rows = ComplaintDayFigures.objects.filter(
                day=day, root_cause="", overdue_open__isnull=False
            )
            metric = Coalesce(Sum("overdue_open"), 0)
        grouped = {
            tuple(row[d] for d in dims): row["n"]
            for row in _grouped(
                rows, period_expr=None, period=None, dims=dims, metrics={"n": metric}
            )
        }
        if day < self.today and day not in self.snapshots:
            return None
        return grouped

    def receipts(self, **kwargs: Any) -> Figures:
        return self.figures("receipt", **kwargs)

    def decisions(self, **kwargs: Any) -> Figures:
        return self.figures("decision", **kwargs)


# --- The rollup, maintained by the sweep ---------------------------------------------------------


def _day_rows(family: str, start: date, end_exclusive: date) -> QuerySet:
    stamp = _stamp(family)
    rows = Complaint.objects.filter(
        **{f"{stamp}__gte": day_start(start), f"{stamp}__lt": day_start(end_exclusive)}
    )
    dims = ["category", "channel"] if family == "receipt" else list(DIMENSIONS)
    return (
        rows.annotate(day=TruncDate(stamp, tzinfo=SHANGHAI))
        .values("day", *dims)
        .annotate(**_live_metrics(family))
        .order_by()
    )


def _first_day_to_roll(today: date) -> date | None:
    last = ReportRollupDay.objects.aggregate(last=Max("day"))["last"]
    if last is not None:
        return last + timedelta(days=1)
    first = Complaint.objects.aggregate(first=Min("received_at"))["first"]
    return local_date(first) if first is not None else None


def _snapshot(yesterday: date, now: datetime) -> dict[tuple[str, str], int]:
    """Open complaints past due at the end of yesterday, as the table stands now (a sweep
    shortly after midnight: a decision made since then is not counted)."""
    rows = (
        Complaint.objects.filter(
            status__in=OPEN_STATUSES,
            due_at__lt=day_start(yesterday + timedelta(days=1)),
            received_at__lt=day_start(yesterday + timedelta(days=1)),
        )
        .values("category", "channel")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {(row["category"], row["channel"]): row["n"] for row in rows}


def _rollup_rows(first: date, today: date, now: datetime) -> list[ComplaintDayFigures]:
    by_key: dict[tuple, ComplaintDayFigures] = {}

    def row_for(day: date, category: str, channel: str, root_cause: str) -> ComplaintDayFigures:
        key = (day, category, channel, root_cause)
        if key not in by_key:
            by_key[key] = ComplaintDayFigures(
                day=day, category=category, channel=channel, root_cause=root_cause
            )
        return by_key[key]

    for row in _day_rows("receipt", first, today):
        row_for(row["day"], row["category"], row["channel"], "").received = row["received"]
    for row in _day_rows("decision", first, today):
        target = row_for(row["day"], row["category"], row["channel"], row["root_cause"])
        for name in DECISION_METRICS:
            setattr(target, name, row[name])
    yesterday = today - timedelta(days=1)
    if first <= yesterday:
        for (category, channel), count in _snapshot(yesterday, now).items():
            row_for(yesterday, category, channel, "").overdue_open = count
        for (day, _cat, _ch, root_cause), row in by_key.items():
            if day == yesterday and root_cause == "" and row.overdue_open is None:
                row.overdue_open = 0
    return list(by_key.values())


def report_rollup_refresh(*, now: datetime, rebuild_from: date | None = None) -> dict[str, Any]:
    """Roll up every closed local day not rolled yet (one GROUP BY per family, set-based), or
    every day from `rebuild_from` on. A sweep (backoffice/sweep.py); idempotent."""
    today = local_date(now)
    try:
        with transaction.atomic():
            if rebuild_from is not None:
                ComplaintDayFigures.objects.filter(day__gte=rebuild_from).delete()
                ReportRollupDay.objects.filter(day__gte=rebuild_from).delete()
            first = _first_day_to_roll(today)
            if first is None or first >= today:
                return {"days": 0}
            rows = _rollup_rows(first, today, now)
            ComplaintDayFigures.objects.bulk_create(rows, batch_size=5000)
            yesterday = today - timedelta(days=1)
            days = [first + timedelta(days=i) for i in range((today - first).days)]
            ReportRollupDay.objects.bulk_create(
                [ReportRollupDay(day=d, rolled_at=now, has_snapshot=d == yesterday) for d in days],
                batch_size=5000,
            )
    except IntegrityError:
        # Another sweep rolled the same days at the same moment: its rows stand.
        return {"days": 0, "skipped": "concurrent"}
    return {"days": len(days), "rows": len(rows)}
