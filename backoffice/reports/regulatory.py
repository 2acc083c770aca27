"""`regulatory-return`: the monthly return, one row per channel × category (every combination,
zeros included), for the local calendar month `month=YYYY-MM` (default: the last full month).

Columns (README "Reports"):
- `month`: YYYY-MM (Asia/Shanghai).
- `channel`, `category`: the complaint's codes (CONTRACT.md values).
- `received`: complaints received in the month.
- `decided`: complaints decided in the month (the decision took effect; withdrawn ones are not
  decided).
- `decided_within_limit`: of those, decided by their own due date (15 days, or 30 / 60 after
  extensions, plus the days paused).
- `overdue_open`: open at the end of the month and past their due date. For the current month,
  as of now; for a past month, the daily rollup's snapshot of its last day, taken by the sweep
  that rolled that day up; empty when no snapshot exists (a day rolled up in a backfill).
- `upheld_or_partly`: decided in the month with outcome upheld or partially upheld.
- `compensation_count`, `compensation_amount`: compensations paid in the month (amount in
  yuan, two decimals).
- `reviews_requested`: review requests (核查) received in the month.
- `reviews_changed`: reviews decided in the month that changed the decision.
- `regulator_referrals`: complaints referred by the regulator (the 12378 hotline, NFRA; the
  channel `regulator`, each with its referral number) received in the month; 0 on the rows of
  the other channels.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.enums import Category, Channel, ReviewOutcome
from complaints.models import Compensation, VerificationRequest
from core.clock import local_date

from . import charts
from .base import Chart, Column, Report, Result, Table, money
from .complaint_figures import ComplaintFigures, day_start
from .params import ReportParams

COLUMNS = [
    "month",
    "channel",
    "category",
    "received",
    "decided",
    "decided_within_limit",
    "overdue_open",
    "upheld_or_partly",
    "compensation_count",
    "compensation_amount",
    "reviews_requested",
    "reviews_changed",
    "regulator_referrals",
]
LABELS = {
    "month": gettext_lazy("Month"),
    "channel": gettext_lazy("Channel"),
    "category": gettext_lazy("Category"),
    "received": gettext_lazy("Received"),
    "decided": gettext_lazy("Decided"),
    "decided_within_limit": gettext_lazy("Decided within the time limit"),
    "overdue_open": gettext_lazy("Open and overdue at month end"),
    "upheld_or_partly": gettext_lazy("Upheld or partly upheld"),
    "compensation_count": gettext_lazy("Compensations paid"),
    "compensation_amount": gettext_lazy("Compensation paid (yuan)"),
    "reviews_requested": gettext_lazy("Reviews requested"),
    "reviews_changed": gettext_lazy("Reviews that changed the decision"),
    "regulator_referrals": gettext_lazy("Regulator referrals"),
}


def month_bounds(month: date) -> tuple[date, date]:
    """First and last local day of `month`."""
    following = (month.replace(day=1) + timedelta(days=32)).replace(day=1)
    return month.replace(day=1), following - timedelta(days=1)


def default_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


def parse_month(raw: str, today: date, notes: list[str]) -> date:
    raw = (raw or "").strip()
    if raw:
        try:
            month = datetime.strptime(raw, "%Y-%m").date()
            if len(raw) == 7 and date(2000, 1, 1) <= month <= today:
                return month
        except ValueError:
            pass
        notes.append(
            _("“%(value)s” is not a past month (YYYY-MM): the last full month is shown.")
            % {"value": raw[:20]}
        )
    return default_month(today)


def _side_figures(first: date, last: date) -> tuple[dict, dict]:
    start, end = day_start(first), day_start(last + timedelta(days=1))
    amount = Coalesce(
        Sum("amount"),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )
    compensations = {
        (r["complaint__channel"], r["complaint__category"]): r
        for r in Compensation.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .values("complaint__channel", "complaint__category")
        .annotate(n=Count("pk"), amount=amount)
        .order_by()
    }
    requested = Q(received_at__gte=start, received_at__lt=end)
    changed = Q(decided_at__gte=start, decided_at__lt=end, outcome=ReviewOutcome.UPHELD)
    reviews = {
        (r["complaint__channel"], r["complaint__category"]): r
        for r in VerificationRequest.objects.filter(requested | changed)
        .values("complaint__channel", "complaint__category")
        .annotate(requested=Count("pk", filter=requested), changed=Count("pk", filter=changed))
        .order_by()
    }
    return compensations, reviews


def return_rows(month: date, now: datetime) -> list[list]:
    """The return's rows (CSV cells) for `month`. 9 queries."""
    first, last = month_bounds(month)
    last_counted = min(last, local_date(now))
    figures = ComplaintFigures(start=first, end=last_counted, now=now)
    received = figures.receipts(dims=["channel", "category"])
    decided = figures.decisions(dims=["channel", "category"])
    overdue = figures.overdue_open(day=last_counted, dims=["channel", "category"])
    compensations, reviews = _side_figures(first, last)
    rows = []
    for channel in Channel.values:
        for category in Category.values:
            key = (channel, category)
            d = decided.get(key, {})
            comp = compensations.get(key, {})
            rev = reviews.get(key, {})
            rows.append(
                [
                    month.strftime("%Y-%m"),
                    channel,
                    category,
                    received.get(key, {}).get("received", 0),
                    d.get("decided", 0),
                    d.get("decided_on_time", 0),
                    "" if overdue is None else overdue.get(key, 0),
                    d.get("upheld_or_partly", 0),
                    comp.get("n", 0),
                    money(comp.get("amount")),
                    rev.get("requested", 0),
                    rev.get("changed", 0),
                    (
                        received.get(key, {}).get("received", 0)
                        if channel == Channel.REGULATOR
                        else 0
                    ),
                ]
            )
    return rows


def regulatory_build(params: ReportParams, now: datetime) -> Result:
    month = params.filters["month"]
    rows = return_rows(month, now)
    by_channel = {c: sum(r[3] for r in rows if r[1] == c) for c in Channel.values}
    chart = charts.bar_chart(
        title=_("Received by channel"),
        x_labels=[str(Channel(c).label) for c in Channel.values],
        series=[(_("Received"), list(by_channel.values()))],
        size="small",
    )
    columns = [
        Column(key, LABELS[key], numeric=key not in ("month", "channel", "category"))
        for key in COLUMNS
    ]
    notes = []
    if rows and rows[0][6] == "":
        notes.append(
            _("No end-of-month snapshot was taken for this month: overdue_open is left empty.")
        )
    return Result(
        charts=[Chart(_("Received by channel"), chart)],
        tables=[
            Table(
                "return",
                _("Monthly return %(month)s") % {"month": month.strftime("%Y-%m")},
                columns,
                rows,
            )
        ],
        notes=notes,
        totals=[(_("Received"), sum(r[3] for r in rows)), (_("Decided"), sum(r[4] for r in rows))],
    )


REGULATORY = Report(
    name="regulatory-return",
    title=gettext_lazy("Monthly regulatory return"),
    description=gettext_lazy(
        "One row per channel and category for one month, as the regulator asks (CSV)."
    ),
    build=regulatory_build,
    queries=9,
    ranged=False,
)
