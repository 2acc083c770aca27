"""`disputes`: loan records disputed as unauthorized (one DisputedItem each) in complaints
received in the range, by the loan's partner interface and by merchant: disputed, upheld,
rejected, pending, the upheld rate, the amounts; and the incident alerts raised in the range
(≥ 5 disputes in 24 hours sharing an interface or a merchant) — the seed's "which interface
leaks" question. Filters: partner interface, merchant (exact). Live aggregates: one GROUP BY
(interface, merchant) folded both ways, the merchants limited to the 20 with the most disputes;
one for the alerts."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Max, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.enums import AlertDimension, Category, ItemOutcome
from complaints.models import DisputedItem, IncidentAlert

from . import charts
from .base import Chart, Column, Report, Result, Table, choice_label, fold, money, rate
from .complaint_figures import day_start
from .params import FilterSpec, ReportParams

TOP_MERCHANTS = 20


def dispute_filters() -> list[FilterSpec]:
    return [
        FilterSpec("partner_interface", _("Partner interface")),
        FilterSpec("merchant", _("Merchant")),
    ]


def _metrics() -> dict:
    return {
        "disputed": Count("pk"),
        "upheld": Count("pk", filter=Q(outcome=ItemOutcome.UPHELD)),
        "rejected": Count("pk", filter=Q(outcome=ItemOutcome.REJECTED)),
        "amount": _amount(),
        "amount_upheld": _amount(Q(outcome=ItemOutcome.UPHELD)),
    }


def _amount(condition: Q | None = None) -> Coalesce:
    return Coalesce(
        Sum("loan__amount", filter=condition),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=16, decimal_places=2),
    )


def _columns() -> list[Column]:
    return [
        Column("disputed", _("Disputed records")),
        Column("upheld", _("Upheld")),
        Column("rejected", _("Rejected")),
        Column("pending", _("Not decided yet")),
        Column("upheld_rate", _("Upheld (percent of decided)")),
        Column("amount", _("Amount disputed")),
        Column("amount_upheld", _("Amount upheld")),
    ]


def _cells(row: dict) -> list:
    decided = row["upheld"] + row["rejected"]
    return [
        row["disputed"],
        row["upheld"],
        row["rejected"],
        row["disputed"] - decided,
        rate(row["upheld"], decided),
        money(row["amount"]),
        money(row["amount_upheld"]),
    ]


def disputes_build(params: ReportParams, now: datetime) -> Result:
    start, end = day_start(params.start), day_start(params.end + timedelta(days=1))
    items = DisputedItem.objects.filter(
        complaint__category=Category.UNAUTHORIZED_LOAN,
        complaint__received_at__gte=start,
        complaint__received_at__lt=end,
    )
    if params.filters.get("partner_interface"):
        items = items.filter(loan__partner_interface=params.filters["partner_interface"])
    if params.filters.get("merchant"):
        items = items.filter(loan__merchant=params.filters["merchant"])
    # One GROUP BY (interface, merchant), folded both ways (aggregate rows only).
    pairs = list(
        items.values("loan__partner_interface", "loan__merchant").annotate(**_metrics()).order_by()
    )
    metrics = ["disputed", "upheld", "rejected", "amount", "amount_upheld"]
    by_interface = fold(pairs, lambda r: r["loan__partner_interface"], metrics)
    by_merchant = fold(pairs, lambda r: r["loan__merchant"], metrics)
    interfaces = [
        {"loan__partner_interface": k, **v}
        for k, v in sorted(by_interface.items(), key=lambda kv: (-kv[1]["disputed"], kv[0]))
    ]
    merchants = [
        {"loan__merchant": k, **v}
        for k, v in sorted(by_merchant.items(), key=lambda kv: (-kv[1]["disputed"], kv[0]))[
            :TOP_MERCHANTS
        ]
    ]
    alerts = list(
        IncidentAlert.objects.filter(raised_at__gte=start, raised_at__lt=end)
        .values("dimension", "value")
        .annotate(alerts=Count("pk"), largest=Max("complaint_count"), last=Max("raised_at"))
        .order_by("-last")
    )
    no_interface = _("(no partner interface)")
    names = [r["loan__partner_interface"] or no_interface for r in interfaces]
    chart = charts.bar_chart(
        title=_("Disputed records by partner interface"),
        x_labels=names,
        series=[
            (_("Upheld"), [r["upheld"] for r in interfaces]),
            (_("Rejected"), [r["rejected"] for r in interfaces]),
            (
                _("Not decided yet"),
                [r["disputed"] - r["upheld"] - r["rejected"] for r in interfaces],
            ),
        ],
        stacked=True,
        horizontal=True,
    )
    total = {k: sum(r[k] for r in interfaces) for k in ("disputed", "upheld", "rejected")}
    return Result(
        charts=[Chart(_("Disputed records by partner interface"), chart)],
        tables=[
            Table(
                "by_partner_interface",
                _("By partner interface"),
                [Column("partner_interface", _("Partner interface"), numeric=False), *_columns()],
                [[name, *_cells(r)] for name, r in zip(names, interfaces, strict=True)],
            ),
            Table(
                "by_merchant",
                _("By merchant (the 20 with the most disputes)"),
                [Column("merchant", _("Merchant"), numeric=False), *_columns()],
                [[r["loan__merchant"] or _("(no merchant)"), *_cells(r)] for r in merchants],
            ),
            Table(
                "incident_alerts",
                _("Incident alerts"),
                [
                    Column("dimension", _("Shared by"), numeric=False),
                    Column("value", _("Interface or merchant"), numeric=False),
                    Column("alerts", _("Alerts")),
                    Column("largest", _("Most complaints in 24 hours")),
                    Column("last_raised", _("Last raised"), numeric=False),
                ],
                [
                    [
                        choice_label(AlertDimension, a["dimension"]),
                        a["value"],
                        a["alerts"],
                        a["largest"],
                        a["last"],
                    ]
                    for a in alerts
                ],
            ),
        ],
        totals=[
            (_("Disputed records"), total["disputed"]),
            (
                _("Upheld (percent of decided)"),
                rate(total["upheld"], total["upheld"] + total["rejected"]),
            ),
            (_("Incident alerts"), sum(a["alerts"] for a in alerts)),
        ],
    )


DISPUTES = Report(
    name="disputes",
    title=gettext_lazy("Unauthorized-loan disputes"),
    description=gettext_lazy(
        "Disputed loan records by partner interface and merchant, upheld rate, incident alerts."
    ),
    build=disputes_build,
    filters=dispute_filters,
    queries=2,
)
