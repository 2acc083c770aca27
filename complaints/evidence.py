"""Evidence at a glance for each disputed loan record (PRODUCT.md "Disputes of loan records"):
its authorization trail and four indicators an agent needs to see first.

Two queries for any number of records: the trails of the disputed loans, and the account's
earlier successful (device, IP) pairs, compared in Python per record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Min
from django.utils.translation import gettext_lazy

from accounts.enums import WEAK_AUTH_METHODS, AuthOutcome, LoanChannel
from accounts.models import AuthorizationEvent, LoanRecord

REGISTER_VIOLATION_LABELS = {
    "interface_suspended": gettext_lazy(
        "Booked through a suspended partner interface (the register refused it)"
    ),
    "interface_not_permitted": gettext_lazy(
        "Booked through a partner interface the register does not permit for it"
    ),
}


@dataclass
class LoanEvidence:
    loan: LoanRecord
    trail: list[AuthorizationEvent] = field(default_factory=list)
    no_authorization: bool = False
    partner_interface: str = ""
    new_device: bool = False
    new_ip: bool = False
    weak_method: bool = False

    @property
    def register_violation(self) -> str:
        """What the lending core's feed flagged: the loan was booked against the
        partner-interface register (its refusal code), or "" (accounts/services/ingest.py)."""
        return self.loan.register_violation

    @property
    def register_violation_label(self) -> str:
        return str(REGISTER_VIOLATION_LABELS.get(self.loan.register_violation, ""))

    @property
    def booked_while_not_lending(self) -> bool:
        return self.loan.booked_while_not_lending

    @property
    def indicators(self) -> list[str]:
        names = []
        if self.register_violation:
            names.append("register_violation")
        if self.booked_while_not_lending:
            names.append("booked_while_not_lending")
        if self.no_authorization:
            names.append("no_authorization")
        if self.partner_interface:
            names.append("partner_interface")
        if self.new_device:
            names.append("new_device")
        if self.new_ip:
            names.append("new_ip")
        if self.weak_method:
            names.append("weak_method")
        return names


def evidence_for_loans(*, loans: Sequence[LoanRecord]) -> list[LoanEvidence]:
    if not loans:
        return []
    loan_ids = [loan.pk for loan in loans]
    trails: dict[int, list[AuthorizationEvent]] = defaultdict(list)
    for event in AuthorizationEvent.objects.filter(loan_id__in=loan_ids).order_by(
        "occurred_at", "pk"
    ):
        trails[event.loan_id].append(event)

    # When each device / IP was first seen succeeding on each account (one grouped query).
    account_ids = {loan.account_id for loan in loans}
    first_seen_device: dict[tuple[int, str], object] = {}
    first_seen_ip: dict[tuple[int, str], object] = {}
    successes = AuthorizationEvent.objects.filter(
        account_id__in=account_ids, outcome=AuthOutcome.SUCCESS
    ).exclude(loan_id__in=loan_ids)
    if not any(e.device_id or e.ip_address for events in trails.values() for e in events):
        successes = successes.none()  # nothing to compare: no query (the case page's budget)
    for row in successes.values("account_id", "device_id", "ip_address").annotate(
        first=Min("occurred_at")
    ):
        if row["device_id"]:
            key = (row["account_id"], row["device_id"])
            prev = first_seen_device.get(key)
            first_seen_device[key] = min(prev, row["first"]) if prev else row["first"]
        if row["ip_address"]:
            key = (row["account_id"], row["ip_address"])
            prev = first_seen_ip.get(key)
            first_seen_ip[key] = min(prev, row["first"]) if prev else row["first"]

    result = []
    for loan in loans:
        trail = trails.get(loan.pk, [])
        ev = LoanEvidence(loan=loan, trail=trail, no_authorization=not trail)
        partner = loan.partner_interface or next(
            (e.partner_interface for e in trail if e.partner_interface), ""
        )
        if not partner and (
            loan.channel == LoanChannel.PARTNER_API
            or any(e.channel == LoanChannel.PARTNER_API for e in trail)
        ):
            partner = "partner_api"
        ev.partner_interface = partner
        for e in trail:
            if e.device_id:
                seen = first_seen_device.get((loan.account_id, e.device_id))
                if seen is None or seen >= e.occurred_at:
                    ev.new_device = True
            if e.ip_address:
                seen = first_seen_ip.get((loan.account_id, e.ip_address))
                if seen is None or seen >= e.occurred_at:
                    ev.new_ip = True
            if e.method in WEAK_AUTH_METHODS:
                ev.weak_method = True
        result.append(ev)
    return result
