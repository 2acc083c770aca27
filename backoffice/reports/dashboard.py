"""The managers' dashboard (`/admin/reports/`): today's headline figures, each linking to the
filtered queue or the report behind it, and small charts of the last 12 weeks. 11 queries,
whatever the rows: the open complaints (one aggregate with FILTERs over the open-queue partial
index), the 12 weeks of complaint figures (rollup + live: 6), appeals, objections, failed
notices, partner interfaces whose audit is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.enums import CorrectionKind, CorrectionStatus
from accounts.models import CreditReportCorrection
from closures.enums import OPEN_APPEAL_STATUSES, AppealStatus
from closures.models import Appeal
from complaints.enums import OPEN_STATUSES
from complaints.models import Complaint
from core.clock import local_date
from notices.enums import NoticeStatus
from notices.models import Notice

from . import charts
from .base import Chart, Column, Table, period_column, period_label, rate, series
from .complaint_figures import ComplaintFigures, day_start
from .params import default_range, week_start
from .partner_audits import audits_overdue_count
from .volumes import open_case_metrics

QUERIES = 11


@dataclass(frozen=True)
class Headline:
    key: str
    label: str
    value: object
    url: str
    detail: str = ""


def _url(name: str, query: str = "") -> str:
    return reverse(name) + (f"?{query}" if query else "")


def _report(name: str, query: str = "") -> str:
    return reverse("admin:report", args=[name]) + (f"?{query}" if query else "")


def _complaint_headlines(now: datetime) -> list[Headline]:
    figures = Complaint.objects.filter(status__in=OPEN_STATUSES).aggregate(**open_case_metrics(now))
    changelist = "admin:complaints_complaint_changelist"
    return [
        Headline("open", _("Open complaints"), figures["open"], _url(changelist, "queue=open")),
        Headline("overdue", _("Overdue"), figures["overdue"], _url(changelist, "queue=overdue")),
        Headline(
            "due_soon",
            _("Due within 2 days"),
            figures["due_soon"],
            _url(changelist, "queue=due_soon"),
        ),
    ]


def _weekly(now: datetime) -> tuple[list[Headline], list[Chart]]:
    today = local_date(now)
    start, end = default_range(today)
    figures = ComplaintFigures(start=start, end=end, now=now)
    received = figures.receipts(period="week")
    daily = figures.decisions(period="day")
    month_start = today.replace(day=1)
    month = {"decided": 0, "decided_within_15": 0}
    weekly: dict[tuple[date], dict[str, int]] = {}
    for (day,), f in daily.items():
        bucket = weekly.setdefault((week_start(day),), {"decided": 0, "decided_on_time": 0})
        bucket["decided"] += f["decided"]
        bucket["decided_on_time"] += f["decided_on_time"]
        if day >= month_start:
            month["decided"] += f["decided"]
            month["decided_within_15"] += f["decided_within_15"]
    weeks = [start + timedelta(weeks=i) for i in range(12)]
    keys = [(w,) for w in weeks]
    labels = [period_label(w, "week")[5:] for w in weeks]
    decided = series(keys, weekly, "decided")
    on_time = series(keys, weekly, "decided_on_time")
    received_chart = charts.bar_chart(
        title=_("Complaints received per week"),
        x_labels=labels,
        series=[(_("Received"), series(keys, received, "received"))],
        size="small",
    )
    decided_chart = charts.bar_chart(
        title=_("Decided per week, by the due date and late"),
        x_labels=labels,
        series=[
            (_("By the due date"), on_time),
            (_("Late"), [d - o for d, o in zip(decided, on_time, strict=True)]),
        ],
        stacked=True,
        size="small",
    )
    this_month = f"from={month_start.isoformat()}&to={today.isoformat()}"
    headline = Headline(
        "decided_within_15",
        _("Decided within 15 days this month"),
        month["decided_within_15"],
        _report("sla", this_month),
        _("of %(decided)s decided (%(rate)s%%)")
        % {
            "decided": month["decided"],
            "rate": rate(month["decided_within_15"], month["decided"]) or 0,
        },
    )
    full_labels = [period_label(w, "week") for w in weeks]
    received_table = Table(
        "received_weekly",
        _("Complaints received per week"),
        [period_column("week"), Column("received", _("Received"))],
        [
            [label, n]
            for label, n in zip(full_labels, series(keys, received, "received"), strict=True)
        ],
    )
    decided_table = Table(
        "decided_weekly",
        _("Decided per week, by the due date and late"),
        [period_column("week"), Column("on_time", _("By the due date")), Column("late", _("Late"))],
        [[label, o, d - o] for label, o, d in zip(full_labels, on_time, decided, strict=True)],
    )
    return [headline], [
        Chart(_("Complaints received per week"), received_chart, received_table),
        Chart(_("Decided per week, by the due date and late"), decided_chart, decided_table),
    ]


def _other_headlines(now: datetime) -> list[Headline]:
    twelve_weeks = day_start(default_range(local_date(now))[0])
    decided = Q(decided_at__gte=twelve_weeks)
    appeals = Appeal.objects.aggregate(
        pending=Count("pk", filter=Q(status__in=OPEN_APPEAL_STATUSES)),
        upheld=Count("pk", filter=decided & Q(status=AppealStatus.UPHELD)),
        decided=Count(
            "pk", filter=decided & Q(status__in=[AppealStatus.UPHELD, AppealStatus.DISMISSED])
        ),
    )
    objections = CreditReportCorrection.objects.filter(
        kind=CorrectionKind.OBJECTION, status__in=[CorrectionStatus.OPEN, CorrectionStatus.SENT]
    ).aggregate(unsettled=Count("pk"), overdue=Count("pk", filter=Q(due_at__lt=now)))
    failed = Notice.objects.filter(status=NoticeStatus.FAILED).count()
    audits_overdue = audits_overdue_count(local_date(now))
    reversal = rate(appeals["upheld"], appeals["decided"])
    return [
        Headline(
            "appeals_pending",
            _("Appeals to decide"),
            appeals["pending"],
            _url("admin:closures_appeal_changelist", "queue=open"),
        ),
        Headline(
            "reversal_rate",
            _("Closures reversed on appeal (12 weeks)"),
            "—" if reversal is None else f"{reversal}%",
            _report("appeals"),
            _("%(upheld)s of %(decided)s appeals decided") % appeals,
        ),
        Headline(
            "objections_unsettled",
            _("Unsettled credit objections"),
            objections["unsettled"],
            _report("objections"),
            _("%(overdue)s past day 20") % objections,
        ),
        Headline(
            "notices_failed",
            _("Failed notices"),
            failed,
            _url("admin:notices_notice_changelist", "status__exact=failed"),
        ),
        Headline(
            "partner_audits_overdue",
            _("Partner-interface audits overdue"),
            audits_overdue,
            _report("partner-audits"),
            _("none in 12 months"),
        ),
    ]


def dashboard(now: datetime) -> tuple[list[Headline], list[Chart]]:
    complaint_figures = _complaint_headlines(now)
    weekly_headlines, weekly_charts = _weekly(now)
    return [*complaint_figures, *weekly_headlines, *_other_headlines(now)], weekly_charts
