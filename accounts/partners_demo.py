"""The demo's partner-interface register: the interfaces accounts/demo.py sends loans through
(PARTNER_INTERFACES), registered through the real services, with audits of different ages so the
dashboard and the partner-audits report have something to show:

- PI-QUICKCASH-V1 (速贷通小额现金), the interface behind Alice's unauthorized cash loan and the
  demo's incident alert, never audited: the walk suspends it after the alert (four eyes), the
  pre-check then refuses it, and it is resumed after an audit.
- PI-DIDI-CREDIT-V1 audited 14 months ago with findings (overdue).
- a retired H5 interface, no longer used.

Call `partner_interfaces_demo_seed(actor=..., now=...)` from seed_demo, before the loans go
through the ledger feed (so the feed checks them against the register). Idempotent: interfaces
already registered are left alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from core.clock import local_date

from .enums import LoanChannel, LoanKind, PartnerAuditResult
from .models import PartnerInterface, User
from .services import partners as partner_services

SEED_REASON = "Demo data (manage.py seed_demo)"
ALL_KINDS = list(LoanKind.values)

# code, partner, kinds, channels, max amount, contract, audit (days ago, result) or None
DEMO_INTERFACES = (
    ("PI-JDPAY-BNPL-V3", "京东白条合作", ALL_KINDS, [LoanChannel.PARTNER_API], "50000.00",
     "HT-2024-JD-017", (45, PartnerAuditResult.PASSED)),
    ("PI-MEITUAN-MONTHPAY-V2", "美团月付", ALL_KINDS, [LoanChannel.PARTNER_API], "30000.00",
     "HT-2024-MT-004", (120, PartnerAuditResult.PASSED)),
    ("PI-DIDI-CREDIT-V1", "滴滴金融", ALL_KINDS, [LoanChannel.PARTNER_API], "30000.00",
     "HT-2023-DD-002", (425, PartnerAuditResult.FINDINGS)),
    ("PI-CTRIP-INSTALL-V2", "携程拿去花", ALL_KINDS, [LoanChannel.PARTNER_API], "50000.00",
     "HT-2025-XC-009", (200, PartnerAuditResult.PASSED)),
    ("PI-XIAOMI-FIN-V1", "小米分期", ALL_KINDS, [LoanChannel.PARTNER_API], "30000.00",
     "HT-2025-MI-021", (30, PartnerAuditResult.FINDINGS)),
    ("PI-QUICKCASH-V1", "速贷通小额现金", ALL_KINDS, [LoanChannel.PARTNER_API], "20000.00",
     "HT-2025-SD-031", None),
    ("PI-LEGACY-H5-V0", "旧版 H5 合作渠道", [LoanKind.PURCHASE], [LoanChannel.WEB], "5000.00",
     "HT-2021-H5-001", (700, PartnerAuditResult.FAILED)),
)  # fmt: skip
RETIRED = {"PI-LEGACY-H5-V0"}
AUDIT_NOTES = {
    PartnerAuditResult.PASSED: "Demo audit: permission control and call logs checked, no finding.",
    PartnerAuditResult.FINDINGS: "Demo audit: call logs kept only 30 days; asked for 180.",
    PartnerAuditResult.FAILED: "Demo audit: no per-call consent reference; interface to retire.",
}


def partner_interfaces_demo_seed(*, actor: User, now: datetime) -> list[PartnerInterface]:
    """Register the demo's interfaces (an `actor` with the register's permissions, or a system
    actor). Returns the ones created."""
    owner = User.objects.filter(username="manager", is_staff=True).first()
    existing = set(PartnerInterface.objects.values_list("code", flat=True))
    today = local_date(now)
    created = []
    for code, partner, kinds, channels, max_amount, contract, audit in DEMO_INTERFACES:
        if code in existing:
            continue
        interface = partner_services.partner_interface_register(
            actor=actor,
            reason=SEED_REASON,
            code=code,
            partner=partner,
            permitted_kinds=kinds,
            permitted_channels=channels,
            max_amount=Decimal(max_amount),
            owner=owner,
            contract_reference=contract,
        )
        if audit is not None:
            days_ago, result = audit
            partner_services.partner_interface_audit_record(
                actor=actor,
                reason=AUDIT_NOTES[result],
                interface_id=interface.pk,
                audited_on=today - timedelta(days=days_ago),
                result=result,
            )
        if code in RETIRED:
            partner_services.partner_interface_retire(
                actor=actor, reason=SEED_REASON, interface_id=interface.pk
            )
        interface.refresh_from_db()
        created.append(interface)
    return created
