"""The partner-interface register as the ledger feed and the lending core's pre-check read it.

`register_snapshot()` loads the whole register in one query (it is small: tens of interfaces) so a
batch of 1,000 loans is checked in memory:

    snapshot = register_snapshot()
    code = snapshot.refusal(loan.partner_interface, loan.kind, loan.channel, loan.amount)

`refusal` answers None (allowed), "interface_suspended" (the interface is suspended or retired) or
"interface_not_permitted" (unknown code, or a kind, a channel or an amount the interface does not
permit). A loan without a partner interface is not subject to the register."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Count, Q, Sum

from .enums import INTERFACE_NOT_PERMITTED, INTERFACE_SUSPENDED, PartnerInterfaceStatus


@dataclass(frozen=True, slots=True)
class InterfaceRule:
    code: str
    status: str
    kinds: frozenset[str]
    channels: frozenset[str]
    max_amount: Decimal


class RegisterSnapshot:
    """An in-memory copy of the register, taken at one moment."""

    def __init__(self, rules: dict[str, InterfaceRule]):
        self._rules = rules

    def __contains__(self, code: str) -> bool:
        return code in self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def rule(self, code: str) -> InterfaceRule | None:
        return self._rules.get(code)

    def refusal(
        self, partner_interface: str, kind: str, channel: str, amount: Decimal
    ) -> str | None:
        code = (partner_interface or "").strip()
        if not code:
            return None
        rule = self._rules.get(code)
        if rule is None:
            return INTERFACE_NOT_PERMITTED
        if rule.status != PartnerInterfaceStatus.ACTIVE:
            return INTERFACE_SUSPENDED
        if kind not in rule.kinds or channel not in rule.channels:
            return INTERFACE_NOT_PERMITTED
        try:
            if Decimal(amount) > rule.max_amount:
                return INTERFACE_NOT_PERMITTED
        except (InvalidOperation, TypeError, ValueError):
            return INTERFACE_NOT_PERMITTED
        return None


def register_snapshot() -> RegisterSnapshot:
    """The whole register in one query."""
    from .models import PartnerInterface

    rows = PartnerInterface.objects.values_list(
        "code", "status", "permitted_kinds", "permitted_channels", "max_amount"
    )
    return RegisterSnapshot(
        {
            code: InterfaceRule(
                code=code,
                status=status,
                kinds=frozenset(kinds or ()),
                channels=frozenset(channels or ()),
                max_amount=max_amount,
            )
            for code, status, kinds, channels, max_amount in rows
        }
    )


# --- Audits overdue: none in 12 months, or never (the dashboard and the partner-audits report) ---

AUDIT_INTERVAL_MONTHS = 12


def audit_cutoff(today: date) -> date:
    """An interface last audited before this day is overdue (12 months before `today`)."""
    try:
        return today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 1, day=28)


def audit_overdue_q(today: date) -> Q:
    """The interfaces in use (not retired) whose last audit is older than 12 months, or none."""
    return ~Q(status=PartnerInterfaceStatus.RETIRED) & (
        Q(last_audit_on__isnull=True) | Q(last_audit_on__lt=audit_cutoff(today))
    )


# --- Figures of an interface: loans through it, disputes, upheld rate, incidents ---------------------
#
# accounts cannot import complaints (imports point down only): complaints registers, in its
# AppConfig.ready(), a provider of dispute figures per interface (its DisputedItem outcomes) and
# one of the incident alerts about an interface. Without them, the ledger's own loan statuses
# stand in (disputed and reversed loans) and no incident is listed.

DisputeFiguresProvider = Callable[
    ..., dict
]  # (*, codes) -> {code: {"disputed", "upheld", "rejected"}}
IncidentProvider = Callable[
    ..., list
]  # (*, code, limit) -> [{"label", "count", "raised_at", "url"}]

_dispute_figures_providers: list[DisputeFiguresProvider] = []
_incident_providers: list[IncidentProvider] = []


def dispute_figures_provider(provider: DisputeFiguresProvider) -> DisputeFiguresProvider:
    if provider not in _dispute_figures_providers:
        _dispute_figures_providers.append(provider)
    return provider


def incident_provider(provider: IncidentProvider) -> IncidentProvider:
    if provider not in _incident_providers:
        _incident_providers.append(provider)
    return provider


@dataclass
class InterfaceFigures:
    loans: int = 0
    amount: Decimal = Decimal("0.00")
    flagged: int | None = None  # loans booked against the register (when the ledger flags them)
    disputed: int = 0
    upheld: int = 0
    rejected: int = 0
    from_cases: bool = False  # disputes counted from the complaints' decisions, not loan statuses

    @property
    def decided(self) -> int:
        return self.upheld + self.rejected

    @property
    def upheld_rate(self) -> float | None:
        """Upheld, in percent of the decided disputes (reversed of disputed, by loan status)."""
        whole = self.decided if self.from_cases else self.disputed
        if not whole:
            return None
        return round(100.0 * self.upheld / whole, 1)


def _loan_flag_field() -> str | None:
    from .models import LoanRecord

    names = {f.name for f in LoanRecord._meta.concrete_fields}
    return next((n for n in ("register_violation",) if n in names), None)


def interfaces_figures(codes: list[str]) -> dict[str, InterfaceFigures]:
    """The figures of these interfaces: one GROUP BY over the loans, one per dispute provider."""
    from .enums import LoanStatus
    from .models import LoanRecord

    if not codes:
        return {}
    metrics = {
        "loans": Count("pk"),
        "amount": Sum("amount"),
        "disputed": Count("pk", filter=Q(status__in=[LoanStatus.DISPUTED, LoanStatus.REVERSED])),
        "reversed": Count("pk", filter=Q(status=LoanStatus.REVERSED)),
    }
    flag = _loan_flag_field()
    if flag:
        metrics["flagged"] = Count("pk", filter=~Q(**{flag: ""}) & Q(**{f"{flag}__isnull": False}))
    rows = (
        LoanRecord.objects.filter(partner_interface__in=codes)
        .values("partner_interface")
        .annotate(**metrics)
        .order_by()
    )
    out = {code: InterfaceFigures(flagged=0 if flag else None) for code in codes}
    for row in rows:
        figures = out[row["partner_interface"]]
        figures.loans = row["loans"]
        figures.amount = row["amount"] or Decimal("0.00")
        figures.disputed = row["disputed"]
        figures.upheld = row["reversed"]
        if flag:
            figures.flagged = row["flagged"]
    if _dispute_figures_providers:
        # The complaints' decisions replace the loan statuses (a rejected dispute leaves the loan
        # posted again, so the statuses alone would forget it).
        for figures in out.values():
            figures.disputed = figures.upheld = figures.rejected = 0
            figures.from_cases = True
    for provider in list(_dispute_figures_providers):
        for code, cases in provider(codes=codes).items():
            if code in out:
                figures = out[code]
                figures.disputed += cases.get("disputed", 0)
                figures.upheld += cases.get("upheld", 0)
                figures.rejected += cases.get("rejected", 0)
    return out


def interface_figures(code: str) -> InterfaceFigures:
    return interfaces_figures([code])[code]


def interface_incidents(code: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The incident alerts about the interface, newest first (from every registered provider)."""
    found: list[dict[str, Any]] = []
    for provider in list(_incident_providers):
        found.extend(provider(code=code, limit=limit))
    return sorted(found, key=lambda a: a["raised_at"], reverse=True)[:limit]
