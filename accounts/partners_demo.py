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
already registered are left alone.

`demo_incident_walk(actor=..., now=...)` then plays the incident on PI-QUICKCASH-V1 through the
services, after the staff logins exist (T = the real now; local times, Asia/Shanghai):

1. T-3d 01:00-04:30: the core books night cash loans without any consent trail through
   PI-QUICKCASH-V1 on five customers' accounts (Alice's ¥6,800 at 03:12 is the same night).
2. T-3d 08:10-19:50: the five report them (complaints app, through accounts.hooks); the fifth
   report within 24 h raises the incident alert.
3. T-3d 20:30 `risk` proposes the suspension, 21:05 `manager` approves it (four eyes, step-up).
4. T-3d 21:20 a sixth customer's cash loan is taken through it: the core had not yet seen the
   suspension. 22:15 the core's pre-check refuses the next loan through the interface
   (`interface_suspended`, a trail row on the interface). The nightly batch brings the 21:20
   loan in: booked and flagged (`register_violation`), the managers emailed.
5. T-2d 09:30 the sixth customer reports that loan; `agent` takes the case: its page shows the
   loan booked through a suspended interface.
6. T-1d `risk` records the audit (passed), 15:00 `manager` proposes the resumption, 16:30 `risk`
   approves it (four eyes again).

The services write "now" where they take no date: those dates (proposal, decision, the
interface's last change) are set back to the story's afterwards, each with the reason
DEMO_DATES (demo data only). Idempotent: a register whose PI-QUICKCASH-V1 already has a
proposal is left alone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.audit import save_with_history, system_actor
from core.clock import local_date
from core.stepup import stepup_record

from . import hooks
from .enums import AuthMethod, LoanChannel, LoanKind, PartnerAuditResult, PartnerChangeAction
from .models import CreditAccount, PartnerInterface, PartnerInterfaceChange, User
from .services import ingest
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


# --- The incident walk on PI-QUICKCASH-V1 ----------------------------------------------------------

QUICKCASH = "PI-QUICKCASH-V1"
DEMO_DATES = "demo: dated as in the story (seed_demo)"
# The customers of the walk, as the core sends them: reference (their login's username), name,
# first 17 digits of the national ID, phone, account number, the night cash loan (days ago,
# hour, minute, amount) and when they report it (days ago, hour, minute).
WALK_CUSTOMERS = (
    ("demo-qc-01", "陈晓红", "11010119920415201", "13700000001", "6288000000000101",
     (3, 1, 4, "5000.00"), (3, 8, 10)),
    ("demo-qc-02", "刘志强", "11010119880923202", "13700000002", "6288000000000102",
     (3, 1, 37, "3800.00"), (3, 9, 40)),
    ("demo-qc-03", "周雨萱", "11010119950108203", "13700000003", "6288000000000103",
     (3, 2, 26, "7200.00"), (3, 11, 25)),
    ("demo-qc-04", "吴建华", "11010119790630204", "13700000004", "6288000000000104",
     (3, 3, 51, "4500.00"), (3, 14, 5)),
    ("demo-qc-05", "郑佳琪", "11010120000219205", "13700000005", "6288000000000105",
     (3, 4, 28, "9800.00"), (3, 19, 50)),
)  # fmt: skip
# Booked after the suspension (the core had not seen it yet), reported the next morning.
FLAGGED_CUSTOMER = ("demo-qc-06", "孙文博", "11010119911105206", "13700000006",
                    "6288000000000106", (3, 21, 20, "4600.00"), (2, 9, 30))  # fmt: skip
PRECHECK_AT = (3, 22, 15)  # the pre-check refusing the next loan through it
SUSPEND = ((3, 20, 30), (3, 21, 5))  # proposed, approved
RESUME = ((1, 15, 0), (1, 16, 30))
AUDIT_DAYS_AGO = 1
REPORTS = {
    "night": "凌晨收到短信，说我通过速贷通借了一笔现金，可我当时在睡觉，从没申请过这笔借款。",
    "flagged": "昨晚九点多收到速贷通的放款短信，我没有申请过，也没有收到过验证码。",
}
# What the staff write (in Chinese, as the desk's staff do).
SUSPEND_REASON = (
    "事件告警：PI-QUICKCASH-V1 在 24 小时内收到 5 起非本人借款投诉，均为夜间现金借款且没有任何授权"
    "记录。暂停该接口，待完成对合作方的审计。"
)
SUSPEND_APPROVAL = "已核对告警和投诉，立即暂停。"
AUDIT_NOTE = (
    "事件后审计：合作方的接口令牌经测试环境泄露；已更换令牌，每次调用须带授权流水号，调用日志保留 "
    "180 天。审计通过。"
)
RESUME_REASON = "事件后审计通过（已更换令牌，每次调用带授权流水号），申请恢复接口。"
RESUME_APPROVAL = "已阅审计报告，同意恢复。"


def _at(now: datetime, when: tuple[int, int, int]) -> datetime:
    """(days ago, hour, minute) in Asia/Shanghai, counted from `now`'s local day."""
    days, hour, minute = when
    day = local_date(now) - timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _staff(username: str) -> User:
    return User.objects.get(username=username, is_staff=True)


def _walk_customer_book(*, actor: User, row: tuple, now: datetime) -> CreditAccount:
    """The customer and account as the core sends them, with an older purchase they made."""
    from .demo import SEED_REASON, _booked, national_id_with_check

    reference, name, id17, phone, number, _loan, _report = row
    opened = _at(now, (500 + int(reference[-2:]) * 37, 10, 0))
    _booked(
        ingest.customers_ingest(
            actor=actor,
            reason=SEED_REASON,
            items=[
                {
                    "reference": reference,
                    "name": name,
                    "national_id": national_id_with_check(id17),
                    "phone": phone,
                    "email": f"{reference}@example.com",
                    "preferred_language": "zh-hans",
                    "updated_at": opened.isoformat(),
                    "account": {
                        "number": number,
                        "credit_limit": "20000.00",
                        "interest_free_days": 30,
                        "opened_at": opened.isoformat(),
                    },
                }
            ],
        ),
        reference,
    )
    bought = _at(now, (40, 19, 30))
    _booked(
        ingest.loans_ingest(
            actor=actor,
            reason=SEED_REASON,
            items=[
                {
                    "reference": f"LNQC{reference[-2:]}001",
                    "account": number,
                    "amount": "389.00",
                    "kind": LoanKind.PURCHASE,
                    "merchant": "京东自营",
                    "channel": LoanChannel.APP,
                    "created_at": bought.isoformat(),
                    "authorization": {
                        "method": AuthMethod.SMS_CODE,
                        "channel": LoanChannel.APP,
                        "device_id": f"HUAWEI-P60-{reference[-2:]}a1b2",
                        "ip": f"116.228.7.{int(reference[-2:])}",
                        "consent_reference": f"CSQC{reference[-2:]}001",
                        "at": (bought - timedelta(seconds=25)).isoformat(),
                    },
                }
            ],
        ),
        reference,
    )
    paid = bought + timedelta(days=28, hours=-9)  # before its due date: never overdue
    _booked(
        ingest.repayments_ingest(
            actor=actor,
            reason=SEED_REASON,
            items=[
                {
                    "reference": f"RPQC{reference[-2:]}001",
                    "account": number,
                    "amount": "389.00",
                    "channel": "bank_card",
                    "paid_at": paid.isoformat(),
                    "loan": f"LNQC{reference[-2:]}001",
                }
            ],
        ),
        reference,
    )
    return CreditAccount.objects.get(number=number)


def _night_loan(*, actor: User, row: tuple, now: datetime) -> list:
    """The cash loan through PI-QUICKCASH-V1 the customer never made: no consent trail."""
    from .demo import SEED_REASON, _booked

    reference, _name, _id, _phone, number, (days, hour, minute, amount), _report = row
    return _booked(
        ingest.loans_ingest(
            actor=actor,
            reason=SEED_REASON,
            items=[
                {
                    "reference": f"LNQC{reference[-2:]}002",
                    "account": number,
                    "amount": amount,
                    "fees": str((Decimal(amount) / 100).quantize(Decimal("0.01"))),
                    "kind": LoanKind.CASH,
                    "merchant": "",
                    "channel": LoanChannel.PARTNER_API,
                    "partner_interface": QUICKCASH,
                    "created_at": _at(now, (days, hour, minute)).isoformat(),
                }
            ],
        ),
        reference,
    )


def _report(*, actor: User, row: tuple, now: datetime, text: str, assignee: User | None = None):
    reference, *_rest, (days, hour, minute) = row
    account = CreditAccount.objects.get(number=row[4])
    hooks.demo_story_play(
        "loan_complaint",
        account=account,
        actor=actor,
        loan_reference=f"LNQC{reference[-2:]}002",
        received_at=_at(now, (days, hour, minute)),
        description=text,
        assignee=assignee,
    )


def _change_four_eyes(
    *,
    actor: User,
    interface: PartnerInterface,
    action: str,
    proposer: User,
    approver: User,
    reason: str,
    approval: str,
    dates: tuple,
    now: datetime,
) -> PartnerInterfaceChange:
    """Proposed by one person, approved by another with a (recorded) fresh code; then dated as
    in the story."""
    change = partner_services.partner_interface_change_propose(
        actor=proposer, reason=reason, interface_id=interface.pk, action=action
    )
    stepup_record(user=approver, session_key="", purpose=f"demo: approve {action}")
    change = partner_services.partner_interface_change_approve(
        actor=approver, reason=approval, change_id=change.pk
    )
    change.proposed_at = _at(now, dates[0])
    change.decided_at = _at(now, dates[1])
    save_with_history(
        change, actor=actor, reason=DEMO_DATES, update_fields=["proposed_at", "decided_at"]
    )
    interface.refresh_from_db()
    return change


def _precheck_refused(*, interface: PartnerInterface, account: CreditAccount, now: datetime) -> str:
    """The core's pre-check (the same answer as POST /api/v1/core/authorizations/check/) for a
    cash loan through the suspended interface, kept in the activity trail on the interface."""
    amount = Decimal("3000.00")
    when = _at(now, PRECHECK_AT)
    code = partner_services.partner_interface_precheck(
        actor=system_actor("lending-core"),
        account=account,
        interface_code=QUICKCASH,
        kind=LoanKind.CASH,
        channel=LoanChannel.PARTNER_API,
        amount=amount,
        note=f"demo: at {when:%Y-%m-%d %H:%M} the lending core's ",
    )
    if code is None:
        raise RuntimeError("seed_demo: the pre-check let a loan through a suspended interface")
    return code


@transaction.atomic
def demo_incident_walk(*, actor: User, now: datetime) -> PartnerInterfaceChange | None:
    """The incident walk of the module docstring. Returns the resumption, or None when it was
    played before (or the register has no PI-QUICKCASH-V1)."""
    interface = PartnerInterface.objects.filter(code=QUICKCASH).first()
    if interface is None or PartnerInterfaceChange.objects.filter(interface=interface).exists():
        return None
    risk, manager, agent = _staff("risk"), _staff("manager"), _staff("agent")
    for row in WALK_CUSTOMERS:
        _walk_customer_book(actor=actor, row=row, now=now)
        _night_loan(actor=actor, row=row, now=now)
    for row in WALK_CUSTOMERS:
        _report(actor=actor, row=row, now=now, text=REPORTS["night"])
    _change_four_eyes(
        actor=actor, interface=interface, action=PartnerChangeAction.SUSPEND, proposer=risk,
        approver=manager, reason=SUSPEND_REASON, approval=SUSPEND_APPROVAL, dates=SUSPEND,
        now=now,
    )  # fmt: skip
    flagged_account = _walk_customer_book(actor=actor, row=FLAGGED_CUSTOMER, now=now)
    _precheck_refused(interface=interface, account=flagged_account, now=now)
    (booked,) = _night_loan(actor=actor, row=FLAGGED_CUSTOMER, now=now)
    if not booked.body.get("flags"):
        raise RuntimeError("seed_demo: a loan through a suspended interface was not flagged")
    _report(actor=actor, row=FLAGGED_CUSTOMER, now=now, text=REPORTS["flagged"], assignee=agent)
    audited_on = local_date(now) - timedelta(days=AUDIT_DAYS_AGO)
    partner_services.partner_interface_audit_record(
        actor=risk, reason=AUDIT_NOTE, interface_id=interface.pk, audited_on=audited_on,
        result=PartnerAuditResult.PASSED,
    )  # fmt: skip
    return _change_four_eyes(
        actor=actor, interface=interface, action=PartnerChangeAction.RESUME, proposer=manager,
        approver=risk, reason=RESUME_REASON, approval=RESUME_APPROVAL, dates=RESUME, now=now,
    )  # fmt: skip
