"""`partner-audits`: the partner-interface register's audits (seed 001: 定期审计伙伴). Every
interface in use (not retired) with its last audit, the days since, whether it is overdue (none
in 12 months, or never), and its figures (loans through it, disputed loan records, upheld rate);
overdue ones first, the oldest audit first. Then the audits dated in the range (from the
interfaces' history). Two queries: the interfaces annotated with their figures (subqueries over
the loans and the disputed items), and the audits in the range."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.enums import PartnerAuditResult, PartnerInterfaceStatus
from accounts.models import LoanRecord, PartnerInterface
from accounts.partners import audit_cutoff, audit_overdue_q
from complaints.enums import ItemOutcome
from complaints.models import DisputedItem
from core.clock import local_date

from . import charts
from .base import Chart, Column, Report, Result, Table, choice_label, rate
from .params import ReportParams


def _count(queryset, code_field: str) -> Coalesce:
    per_code = (
        queryset.filter(**{code_field: OuterRef("code")})
        .order_by()
        .values(code_field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(per_code, output_field=IntegerField()), Value(0))


def _interfaces():
    items = DisputedItem.objects.all()
    return (
        PartnerInterface.objects.exclude(status=PartnerInterfaceStatus.RETIRED)
        .annotate(
            loans=_count(LoanRecord.objects.all(), "partner_interface"),
            disputed=_count(items, "loan__partner_interface"),
            upheld=_count(items.filter(outcome=ItemOutcome.UPHELD), "loan__partner_interface"),
            decided=_count(
                items.filter(outcome__in=[ItemOutcome.UPHELD, ItemOutcome.REJECTED]),
                "loan__partner_interface",
            ),
        )
        .values(
            "code",
            "partner",
            "status",
            "last_audit_on",
            "last_audit_result",
            "loans",
            "disputed",
            "upheld",
            "decided",
        )
    )


def _state(last: date | None, cutoff: date) -> str:
    if last is None:
        return "never"
    return "overdue" if last < cutoff else "current"


STATES = [
    ("current", gettext_lazy("Audited within 12 months")),
    ("overdue", gettext_lazy("Last audit older than 12 months")),
    ("never", gettext_lazy("Never audited")),
]


def partner_audits_build(params: ReportParams, now: datetime) -> Result:
    today = local_date(now)
    cutoff = audit_cutoff(today)
    interfaces = list(_interfaces())
    for row in interfaces:
        row["state"] = _state(row["last_audit_on"], cutoff)
    interfaces.sort(
        key=lambda r: (r["state"] == "current", r["last_audit_on"] or date.min, r["code"])
    )
    counts = {key: sum(1 for r in interfaces if r["state"] == key) for key, _label in STATES}
    chart = charts.bar_chart(
        title=_("Audit state of the interfaces in use"),
        x_labels=[str(label) for _key, label in STATES],
        series=[(_("Interfaces"), [counts[key] for key, _label in STATES])],
        size="small",
    )
    state_labels = dict(STATES)
    columns = [
        Column("code", _("Interface"), numeric=False),
        Column("partner", _("Partner"), numeric=False),
        Column("status", _("Status"), numeric=False),
        Column("last_audit_on", _("Last audit"), numeric=False),
        Column("last_audit_result", _("Result"), numeric=False),
        Column("days_since", _("Days since")),
        Column("audit_state", _("Audit"), numeric=False),
        Column("loans", _("Loans through it")),
        Column("disputed", _("Disputed loan records")),
        Column("upheld_rate", _("Upheld (percent of decided)")),
    ]
    rows = [
        [
            r["code"],
            r["partner"],
            choice_label(PartnerInterfaceStatus, r["status"]),
            r["last_audit_on"],
            choice_label(PartnerAuditResult, r["last_audit_result"], blank="—"),
            (today - r["last_audit_on"]).days if r["last_audit_on"] else None,
            str(state_labels[r["state"]]),
            r["loans"],
            r["disputed"],
            rate(r["upheld"], r["decided"]),
        ]
        for r in interfaces
    ]
    # The audits dated in the range, from the history (one row per interface and audit date).
    audits = list(
        PartnerInterface.history.filter(
            last_audit_on__gte=params.start, last_audit_on__lte=params.end
        )
        .values("code", "last_audit_on", "last_audit_result")
        .distinct()
        .order_by("-last_audit_on", "code")
    )
    audit_table = Table(
        "audits",
        _("Audits dated in the range"),
        [
            Column("audited_on", _("Audit date"), numeric=False),
            Column("code", _("Interface"), numeric=False),
            Column("result", _("Result"), numeric=False),
        ],
        [
            [
                a["last_audit_on"],
                a["code"],
                choice_label(PartnerAuditResult, a["last_audit_result"]),
            ]
            for a in audits
        ],
    )
    overdue = counts["overdue"] + counts["never"]
    notes = []
    if not interfaces:
        notes.append(_("No partner interface is registered."))
    return Result(
        charts=[
            Chart(
                _("Audit state of the interfaces in use"),
                chart,
                Table(
                    "states",
                    _("Audit state of the interfaces in use"),
                    [Column("state", _("Audit"), numeric=False), Column("n", _("Interfaces"))],
                    [[str(label), counts[key]] for key, label in STATES],
                ),
            )
        ],
        tables=[Table("interfaces", _("Interfaces in use"), columns, rows), audit_table],
        notes=notes,
        totals=[
            (_("Interfaces in use"), len(interfaces)),
            (_("Audits overdue (none in 12 months)"), overdue),
            (_("Audits dated in the range"), len(audits)),
        ],
    )


PARTNER_AUDITS = Report(
    name="partner-audits",
    title=gettext_lazy("Partner-interface audits"),
    description=gettext_lazy(
        "Partner interfaces whose audit is overdue (none in 12 months), with their loans and "
        "disputes; the audits recorded."
    ),
    build=partner_audits_build,
    queries=2,
)


def audits_overdue_count(today: date) -> int:
    """The dashboard's figure: interfaces in use with no audit in 12 months, or none (one query)."""
    return PartnerInterface.objects.filter(audit_overdue_q(today)).count()
