"""Demo data for `manage.py seed_demo`: the demo logins (built through the services, so their
history reads like real use) and N bulk customers with accounts, loan records and their
authorization trail (bulk inserts that still write one historical row per seeded row).

Everything is idempotent: the demo logins are created only when their username is free, and
bulk customer i has the username `cust0000i`, so a second run skips the indices that exist.
Generated values depend only on (--seed, i), so an interrupted run resumes with the same data.
"""

from __future__ import annotations

import multiprocessing
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, connections, transaction
from django.utils import timezone
from tqdm import tqdm

from core import crypto, roles
from core.audit import save_with_history, system_actor

from . import hooks, locks, schedules, services
from .enums import (
    AccountStatus,
    AuthMethod,
    AuthOutcome,
    Language,
    LoanChannel,
    LoanKind,
    LoanStatus,
    RepaymentChannel,
    RiskSignalKind,
    RiskSignalSource,
    Severity,
)
from .models import (
    ZERO,
    CreditAccount,
    Customer,
    LoanRecord,
    User,
)
from .services import ingest
from .staff import staff_upsert

SEED_ACTOR = "seed-demo"
SEED_REASON = "demo data (seed_demo)"
BULK_USERNAME_PREFIX = "cust"
DEMO_STAFF = (
    ("agent", roles.AGENT),
    ("reviewer", roles.REVIEWER),
    ("manager", roles.MANAGER),
    # A second manager: the campaign's appeal is decided by one who took no part in it.
    ("manager2", roles.MANAGER),
    ("risk", roles.RISK_OFFICER),
    ("auditor", roles.AUDITOR),
)


def demo_password(username: str) -> str:
    return f"{username}-demo-pass"


# --- Realistic vocabulary -----------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰萍红梅鑫宇浩然子轩欣怡梓涵"
    "雨萱思远晨阳佳琪俊杰嘉怡文博一鸣诗涵宇航雅婷志强海燕晓东丹丹建华春燕立新"
)
MERCHANTS = (
    "京东自营",
    "天猫超市",
    "拼多多",
    "苏宁易购",
    "美团外卖",
    "饿了么",
    "携程旅行",
    "滴滴出行",
    "盒马鲜生",
    "永辉超市",
    "华为商城",
    "小米之家",
    "唯品会",
    "当当网",
    "大润发",
    "海底捞",
    "星巴克",
    "屈臣氏",
    "优衣库",
    "国美电器",
)
# Partner interfaces through which loans arrive by API (the unauthorized-loan reports cluster
# on a few of them, so the reports by interface have something to show).
PARTNER_INTERFACES = (
    ("PI-JDPAY-BNPL-V3", "京东白条合作"),
    ("PI-MEITUAN-MONTHPAY-V2", "美团月付"),
    ("PI-DIDI-CREDIT-V1", "滴滴金融"),
    ("PI-CTRIP-INSTALL-V2", "携程拿去花"),
    ("PI-XIAOMI-FIN-V1", "小米分期"),
    ("PI-QUICKCASH-V1", "速贷通小额现金"),
)
DEVICES = (
    "iPhone15,2",
    "iPhone14,5",
    "HUAWEI-P60",
    "HUAWEI-Mate50",
    "Xiaomi-13",
    "OPPO-Reno10",
    "vivo-X90",
    "HONOR-90",
    "Windows-Chrome",
    "macOS-Safari",
)
IP_PREFIXES = ("36.110", "58.247", "106.39", "112.97", "117.136", "183.14", "223.104", "116.228")
PHONE_PREFIXES = ("138", "139", "150", "151", "158", "186", "188", "131", "132", "177", "199")
REGIONS = ("310115", "440305", "330106", "510107", "420106", "320106", "610113", "370102")
CREDIT_LIMITS = tuple(Decimal(v) for v in ("3000", "5000", "8000", "10000", "15000", "20000"))
CENT = Decimal("0.01")


def national_id_with_check(first17: str) -> str:
    """Append the GB 11643 (ISO 7064 MOD 11-2) check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return first17 + "10X98765432"[total % 11]


def bulk_national_id(i: int) -> str:
    """Unique for every index: (region, birth date, sequence) is a bijection of i."""
    region = REGIONS[i % len(REGIONS)]
    j = i // len(REGIONS)
    # 7919 is prime and coprime with 14600 (40 years of days): a permutation of the days.
    birth = date(1965, 1, 1) + timedelta(days=(j * 7919) % 14600)
    sequence = 100 + j // 14600  # the demo logins use sequence 9xx in a region not listed here
    return national_id_with_check(f"{region}{birth:%Y%m%d}{sequence:03d}")


def bulk_username(i: int) -> str:
    return f"{BULK_USERNAME_PREFIX}{i:07d}"


# --- The demo logins ---------------------------------------------------------------------------


@dataclass
class SeedReport:
    created_logins: list[str] = field(default_factory=list)
    otpauth_lines: list[str] = field(default_factory=list)
    existing_staff: list[str] = field(default_factory=list)
    customers_created: int = 0
    customers_skipped: int = 0
    rows_written: int = 0
    # Which walks this run played (seed_demo prints them).
    walks: dict[str, Any] = field(default_factory=dict)


def demo_staff_seed(*, actor: User, report: SeedReport) -> None:
    """Staff logins of every role. Existing ones are left alone: their TOTP secret was shown
    when they were created, and `manage.py create_staff` issues a new one."""
    for username, role in DEMO_STAFF:
        if User.objects.filter(username=username).exists():
            report.existing_staff.append(username)
            continue
        _user, device = staff_upsert(
            actor=actor,
            reason=SEED_REASON,
            username=username,
            role=role,
            password=demo_password(username),
            email=f"{username}@example.com",
        )
        report.created_logins.append(username)
        report.otpauth_lines.append(f"{username}: {device.config_url}")


def _at(now: datetime, days_ago: int, hour: int, minute: int = 0) -> datetime:
    day = (now - timedelta(days=days_ago)).date()
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _booked(results: list, what: str) -> list:
    """The ingestion service's results, all booked (demo data must go in whole)."""
    refused = [r for r in results if not r.ok]
    if refused:
        raise RuntimeError(f"seed_demo: the feed refused {what}: {refused[0].body}")
    return results


def _demo_customer(
    *,
    actor: User,
    username: str,
    name: str,
    id17: str,
    phone: str,
    limit: str,
    number: str,
    opened: datetime,
) -> tuple[Customer, CreditAccount]:
    """A demo login with its customer record and one account, as the lending core sends them
    (accounts/services/ingest.py), then given its demo password."""
    (result,) = _booked(
        ingest.customers_ingest(
            actor=actor,
            reason=SEED_REASON,
            items=[
                {
                    "reference": username,
                    "name": name,
                    "national_id": national_id_with_check(id17),
                    "phone": phone,
                    "email": f"{username}@example.com",
                    "preferred_language": Language.ZH_HANS,
                    "updated_at": opened.isoformat(),
                    "account": {
                        "number": number,
                        "credit_limit": limit,
                        "interest_free_days": 30,
                        "opened_at": opened.isoformat(),
                    },
                }
            ],
        ),
        username,
    )
    customer = Customer.objects.select_related("user").get(pk=result.body["customer"])
    user = customer.user
    user.set_password(demo_password(username))
    save_with_history(user, actor=actor, reason=SEED_REASON, update_fields=["password"])
    return customer, CreditAccount.objects.get(pk=result.body["account"])


def _demo_loan(
    *,
    actor: User,
    account: CreditAccount,
    reference: str,
    created: datetime,
    amount: str,
    merchant: str,
    kind: str = LoanKind.PURCHASE,
    channel: str = LoanChannel.APP,
    interface: str = "",
    fees: Decimal = ZERO,
    authorization: dict | None,
) -> LoanRecord:
    """A demo loan as the core books it, with its default schedule (a purchase due after the
    account's interest-free days, an installment loan in three monthly installments)."""
    item = {
        "reference": reference,
        "account": account.number,
        "amount": amount,
        "fees": str(fees),
        "kind": kind,
        "merchant": merchant,
        "channel": channel,
        "partner_interface": interface,
        "created_at": created.isoformat(),
    }
    if authorization is not None:
        item["authorization"] = authorization
    (result,) = _booked(
        ingest.loans_ingest(actor=actor, reason=SEED_REASON, items=[item]), reference
    )
    return LoanRecord.objects.get(pk=result.body["id"])


@transaction.atomic
def demo_alice_seed(*, actor: User, now: datetime) -> Customer:
    """alice: one active account with loan records, the latest of them (a cash loan through a
    partner interface) without any authorization event: the disputed-loan story."""
    customer, account = _demo_customer(
        actor=actor,
        username="alice",
        name="李爱丽",
        id17="11010119900307092",
        phone="13800138000",
        limit="20000.00",
        number="6288000000000001",
        opened=_at(now, 420, 10),
    )
    device, ip = "iPhone14,5-a1b2c3d4", "116.228.35.17"
    purchases = (
        (20, "2399.00", LoanKind.PURCHASE, LoanChannel.APP, "京东自营", "", AuthMethod.SMS_CODE),
        (12, "86.50", LoanKind.PURCHASE, LoanChannel.APP, "美团外卖", "", AuthMethod.BIOMETRIC),
        (
            8,
            "4200.00",
            LoanKind.INSTALLMENT,
            LoanChannel.PARTNER_API,
            "携程旅行",
            "PI-CTRIP-INSTALL-V2",
            AuthMethod.PARTNER_TOKEN,
        ),
    )
    for n, (days_ago, amount, kind, channel, merchant, interface, method) in enumerate(purchases):
        created = _at(now, days_ago, 20, 15)
        _demo_loan(
            actor=actor,
            account=account,
            reference=f"LNDEMOA{n + 1:03d}",
            created=created,
            amount=amount,
            kind=kind,
            channel=channel,
            merchant=merchant,
            interface=interface,
            authorization={
                "method": method,
                "channel": channel,
                "partner_interface": interface,
                "device_id": device,
                "ip": ip,
                "consent_reference": f"CS{created:%Y%m%d%H%M}A1",
                "at": (created - timedelta(seconds=20)).isoformat(),
            },
        )
    # The one she never made: 03:12 at night, through a partner interface, no consent trail.
    # Over the ¥5,000 four-eyes threshold, so upholding it needs a reviewer's approval.
    _demo_loan(
        actor=actor,
        account=account,
        reference="LNDEMOA004",
        created=_at(now, 3, 3, 12),
        amount="6800.00",
        fees=Decimal("68.00"),
        kind=LoanKind.CASH,
        channel=LoanChannel.PARTNER_API,
        merchant="速贷通小额现金",
        interface="PI-QUICKCASH-V1",
        authorization=None,
    )
    return customer


@transaction.atomic
def demo_bob_seed(*, actor: User, now: datetime) -> Customer:
    """bob: an account closed for `overdue` within the last days (appealable for 30 days):
    a three-month installment loan and a purchase, all four installments paid late in one
    repayment fourteen days ago (overdue count 4, computed from the schedules), an overdue risk
    signal, balance settled, status closed."""
    customer, account = _demo_customer(
        actor=actor,
        username="bob",
        name="王博",
        id17="11010119850611093",
        phone="13900139000",
        limit="10000.00",
        number="6288000000000002",
        opened=_at(now, 400, 11),
    )
    bob_loans = (
        (120, "3200.00", "苏宁易购", LoanKind.INSTALLMENT),
        (95, "1450.00", "携程旅行", LoanKind.PURCHASE),
    )
    for n, (days_ago, amount, merchant, kind) in enumerate(bob_loans):
        created = _at(now, days_ago, 14, 30)
        _demo_loan(
            actor=actor,
            account=account,
            reference=f"LNDEMOB{n + 1:03d}",
            created=created,
            amount=amount,
            merchant=merchant,
            kind=kind,
            authorization={
                "method": AuthMethod.SMS_CODE,
                "channel": LoanChannel.APP,
                "device_id": "HUAWEI-Mate50-9f8e7d6c",
                "ip": "58.247.12.9",
                "at": (created - timedelta(seconds=30)).isoformat(),
            },
        )
    _booked(
        ingest.repayments_ingest(
            actor=actor,
            reason=SEED_REASON,
            items=[
                {
                    "reference": "RPDEMOB001",
                    "account": account.number,
                    "amount": "4650.00",
                    "channel": RepaymentChannel.BANK_CARD,
                    "paid_at": _at(now, 14, 10).isoformat(),
                }
            ],
        ),
        "bob's repayment",
    )
    account = locks.account_for_update(account_id=account.pk)
    # The closures app (accounts.hooks) runs its real flow: risk signal, proposal, approval,
    # effect, notice, so the closure request, its events and the appeal window all exist.
    if hooks.demo_story_play("closed_for_overdue", account=account, actor=actor):
        return customer
    # No app registered the story: the account state alone.
    services.risk_signal_raise(
        actor=actor,
        reason=SEED_REASON,
        account_id=account.pk,
        kind=RiskSignalKind.OVERDUE,
        severity=Severity.HIGH,
        source=RiskSignalSource.RISK_ENGINE,
        details={"overdue_count": 4, "max_days_past_due": 47},
    )
    account.closed_at = _at(now, 6, 9)
    services.account_set_status(
        account=account, new_status=AccountStatus.CLOSED, actor=actor, reason=SEED_REASON
    )
    return customer


# --- Bulk customers ----------------------------------------------------------------------------


@dataclass
class BulkBatch:
    """Rows (attname -> value) of one batch; `_customer`, `_account`, `_loan` are the indexes
    of the parent rows in this batch, resolved to ids once the parents are inserted."""

    users: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    loans: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    # The loans' schedules and the repayments that paid them (`_installment`, `_repayment`).
    installments: list[dict[str, Any]] = field(default_factory=list)
    repayments: list[dict[str, Any]] = field(default_factory=list)
    allocations: list[dict[str, Any]] = field(default_factory=list)


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _ip(rng: random.Random) -> str:
    return f"{rng.choice(IP_PREFIXES)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def _bulk_person(
    batch: BulkBatch, i: int, *, rng: random.Random, seed: int, now: datetime, password: str
) -> tuple[int, datetime]:
    """Bulk customer i's login and customer rows; returns its index in the batch and the day
    its account opened."""
    name = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))
    opened = now - timedelta(days=rng.randint(45, 1500), minutes=rng.randint(0, 1439))
    joined = opened - timedelta(days=rng.randint(0, 30))
    username = bulk_username(i)
    phone = rng.choice(PHONE_PREFIXES) + f"{(i * 7919 + seed) % 100_000_000:08d}"
    national_id = bulk_national_id(i)
    customer_index = len(batch.customers)
    batch.users.append(
        {
            "username": username,
            "first_name": name,
            "email": f"{username}@example.com",
            "password": password,
            "date_joined": joined,
            "security_stamp": f"{rng.getrandbits(128):032x}",
        }
    )
    batch.customers.append(
        {
            "_user": customer_index,
            "name": name,
            "national_id": national_id,
            "national_id_index": crypto.blind_index(national_id),
            "phone": phone,
            "phone_index": crypto.blind_index(phone),
            "preferred_language": Language.EN if rng.random() < 0.08 else Language.ZH_HANS,
            "created_at": joined,
        }
    )
    return customer_index, opened


def _bulk_account(
    batch: BulkBatch, i: int, *, rng: random.Random, customer_index: int, opened: datetime
) -> dict[str, Any]:
    limit = rng.choice(CREDIT_LIMITS)
    # One account in forty is over the closure threshold (a few even in a small demo),
    # some more have been late once or twice.
    if i % 40 == 7:
        overdue = rng.randint(3, 6)
    elif rng.random() < 0.08:
        overdue = rng.randint(1, 2)
    else:
        overdue = 0
    if overdue and opened > timezone.now() - timedelta(days=OVERDUE_LOAN_DAYS + 30):
        # Late payers have been customers long enough to have been late that often.
        opened = opened - timedelta(days=OVERDUE_LOAN_DAYS + 30)
        batch.users[-1]["date_joined"] = batch.customers[-1]["created_at"] = opened
    account = {
        "_customer": customer_index,
        "number": f"6288{(i * 1_000_003 + 17) % 10**12:012d}",
        "status": AccountStatus.ACTIVE,
        "credit_limit": limit,
        "interest_free_days": rng.choice((30, 30, 30, 45, 50)),
        "opened_at": opened,
        "closed_at": None,
        # How the account pays (not a column): its overdue figures come from its schedules.
        "_late": overdue,
    }
    batch.accounts.append(account)
    return account


def _loan_channel_kind(rng: random.Random) -> tuple[str, str, str, str]:
    """(channel, partner interface, kind, merchant) of a bulk loan."""
    channel_roll = rng.random()
    if channel_roll < 0.55:
        channel, interface = LoanChannel.APP, ""
    elif channel_roll < 0.75:
        channel, interface = LoanChannel.WEB, ""
    else:
        channel, interface = LoanChannel.PARTNER_API, rng.choice(PARTNER_INTERFACES)[0]
    kind_roll = rng.random()
    if kind_roll < 0.12:
        return channel, interface, LoanKind.CASH, dict(PARTNER_INTERFACES).get(interface, "")
    kind = LoanKind.INSTALLMENT if kind_roll < 0.3 else LoanKind.PURCHASE
    return channel, interface, kind, rng.choice(MERCHANTS)


# An overdue account's first loan: six monthly installments taken this many days ago, so
# all six are past due (and within the 12-month window) by now.
OVERDUE_LOAN_DAYS = 200
OVERDUE_MONTHS = 6


def _bulk_loan(
    batch: BulkBatch,
    account: dict[str, Any],
    *,
    rng: random.Random,
    reference: str,
    span: int,
    loans_per_account: int,
    late: int,
    now: datetime,
) -> dict[str, Any]:
    """One loan row of the account with its schedule and the repayments that paid it: an
    installment paid on or before its due date (or early, a loan repaid early in full), the
    ones in the future unpaid. `late` > 0 makes the loan the account's late one (six monthly
    installments, `late` of them late: left unpaid when the account is over the closure
    threshold, paid after due + grace otherwise). Returns it."""
    channel, interface, kind, merchant = _loan_channel_kind(rng)
    if late:
        created = now - timedelta(days=OVERDUE_LOAN_DAYS, minutes=rng.randint(0, 600))
        kind, months = LoanKind.INSTALLMENT, OVERDUE_MONTHS
    else:
        created = account["opened_at"] + timedelta(seconds=rng.randint(600, span))
        months = rng.choice((3, 6, 12)) if kind == LoanKind.INSTALLMENT else None
    limit = account["credit_limit"]
    amount = max(
        _money(limit * Decimal(rng.uniform(0.01, 0.7 / loans_per_account))), Decimal("12.00")
    )
    plan = schedules.schedule_plan(
        kind=kind,
        amount=amount,
        taken_on=timezone.localdate(created),
        interest_free_days=account["interest_free_days"],
        due_date=created.date() + timedelta(days=account["interest_free_days"])
        if kind == LoanKind.PURCHASE
        else None,
        months=months,
    )
    today = timezone.localdate(now)
    early = rng.random() < 0.2 and not late  # repaid early, in full, some days after taken
    loan_index = len(batch.loans)
    unpaid_late = late if account["_late"] >= 3 else 0
    outstanding = ZERO
    for due in plan:
        row = {"_loan": loan_index, "_account": account["_customer"], "number": due.number,
               "due_on": due.due_on, "amount": due.amount, "paid_amount": ZERO,
               "paid_on": None}  # fmt: skip
        batch.installments.append(row)
        position = due.number - 1
        if late and position >= len(plan) - unpaid_late:
            outstanding += due.amount  # left unpaid, past due
            continue
        if early:
            paid_on = min(today, timezone.localdate(created) + timedelta(days=rng.randint(1, 20)))
        elif due.due_on > today:
            outstanding += due.amount  # not due yet
            continue
        elif late and position < late:
            paid_on = min(today, due.due_on + timedelta(days=schedules.grace_days() + 1
                                                            + rng.randint(0, 25)))  # fmt: skip
        else:
            paid_on = due.due_on - timedelta(days=rng.randint(0, 10))
        paid_on = max(paid_on, timezone.localdate(created))
        row["paid_amount"], row["paid_on"] = due.amount, paid_on
        paid_at = timezone.make_aware(datetime.combine(paid_on, time(rng.randint(8, 22))))
        batch.repayments.append(
            {"_account": account["_customer"], "_loan": loan_index,
             "reference": f"RD{reference[2:]}{due.number:02d}", "amount": due.amount,
             "channel": rng.choice(_REPAYMENT_CHANNELS), "paid_at": paid_at}
        )  # fmt: skip
        batch.allocations.append(
            {"_repayment": len(batch.repayments) - 1,
             "_installment": len(batch.installments) - 1, "amount": due.amount}
        )  # fmt: skip
    loan = {
        "_account": account["_customer"],
        "reference": reference,
        "amount": amount,
        "outstanding_amount": outstanding,
        "fees": _money(amount * Decimal("0.006")) if kind == LoanKind.CASH else ZERO,
        "interest": ZERO,
        "kind": kind,
        "merchant": merchant,
        "channel": channel,
        "partner_interface": interface,
        "status": LoanStatus.POSTED if outstanding else LoanStatus.REPAID,
        "created_at": created,
        "due_date": plan[-1].due_on,
        "collection_paused": False,
    }
    batch.loans.append(loan)
    return loan


_REPAYMENT_CHANNELS = (
    RepaymentChannel.BANK_CARD,
    RepaymentChannel.WALLET,
    RepaymentChannel.TRANSFER,
)


def _bulk_consent(
    batch: BulkBatch,
    loan: dict[str, Any],
    *,
    rng: random.Random,
    consent_reference: str,
    devices: list[str],
    home_ip: str,
) -> None:
    """The loan's consent trail, if it has one (partner-API loans lack it more often), with a
    failed attempt first now and then."""
    channel, interface, created = loan["channel"], loan["partner_interface"], loan["created_at"]
    if rng.random() < (0.2 if interface else 0.04):
        return
    if channel == LoanChannel.PARTNER_API:
        method = AuthMethod.PARTNER_TOKEN
    elif channel == LoanChannel.WEB:
        method = rng.choice((AuthMethod.PASSWORD, AuthMethod.SMS_CODE, AuthMethod.TOTP))
    else:
        method = rng.choice((AuthMethod.SMS_CODE, AuthMethod.BIOMETRIC, AuthMethod.TOTP))
    event = {
        "_account": loan["_account"],
        "_loan": len(batch.loans) - 1,
        "method": method,
        "channel": channel,
        "partner_interface": interface,
        "device_id": devices[0] if rng.random() < 0.8 else devices[1],
        "ip_address": home_ip if rng.random() < 0.85 else _ip(rng),
        "consent_reference": consent_reference,
        "occurred_at": created - timedelta(seconds=rng.randint(2, 30)),
        "outcome": AuthOutcome.SUCCESS,
    }
    if rng.random() < 0.05:
        batch.events.append(
            {
                **event,
                "consent_reference": "",
                "occurred_at": created - timedelta(seconds=rng.randint(40, 300)),
                "outcome": AuthOutcome.FAILURE,
            }
        )
    batch.events.append(event)


def _bulk_batch(
    *, indices: list[int], seed: int, loans_per_account: int, now: datetime
) -> BulkBatch:
    """The rows of bulk customers `indices`; values depend on (seed, i) and `now` only."""
    batch = BulkBatch()
    unusable = make_password(None)  # one unusable hash for the batch; it never verifies
    for i in indices:
        rng = random.Random(f"{seed}:{i}")
        customer_index, opened = _bulk_person(
            batch, i, rng=rng, seed=seed, now=now, password=unusable
        )
        account = _bulk_account(batch, i, rng=rng, customer_index=customer_index, opened=opened)
        devices = [f"{rng.choice(DEVICES)}-{rng.getrandbits(32):08x}" for _ in range(2)]
        home_ip = _ip(rng)
        span = max(int((now - opened).total_seconds()), 3600)
        owed = ZERO
        for j in range(loans_per_account):
            loan = _bulk_loan(
                batch,
                account,
                rng=rng,
                reference=f"LD{i:08d}{j:03d}",
                span=span,
                loans_per_account=loans_per_account,
                # A late payer's first loan is the one they paid late or not at all.
                late=account["_late"] if j == 0 else 0,
                now=now,
            )
            owed += loan["outstanding_amount"]
            _bulk_consent(
                batch,
                loan,
                rng=rng,
                consent_reference=f"CS{i:08d}{j:03d}",
                devices=devices,
                home_ip=home_ip,
            )
        account["outstanding_balance"] = owed
        account["available_credit"] = account["credit_limit"] - owed
    return batch


def _iso(value: datetime | date) -> str:
    return value.isoformat()


def _bulk_items(batch: BulkBatch) -> tuple[list[dict], list[dict], list[dict]]:
    """The batch as the lending core would send it: customers with their accounts, loans with
    their schedules and authorization events, repayments naming their loans."""
    customers = []
    for user, customer, account in zip(batch.users, batch.customers, batch.accounts, strict=True):
        customers.append({
            "reference": user["username"], "name": customer["name"],
            "national_id": customer["national_id"], "phone": customer["phone"],
            "email": user["email"], "preferred_language": customer["preferred_language"],
            "updated_at": _iso(account["opened_at"]),
            "account": {"number": account["number"], "credit_limit": str(account["credit_limit"]),
                        "interest_free_days": account["interest_free_days"],
                        "opened_at": _iso(account["opened_at"])},
        })  # fmt: skip
    schedules_of: dict[int, list[dict]] = {}
    for row in batch.installments:
        schedules_of.setdefault(row["_loan"], []).append(
            {"due_on": _iso(row["due_on"]), "amount": str(row["amount"])}
        )
    events_of: dict[int, list[dict]] = {}
    for row in batch.events:
        events_of.setdefault(row["_loan"], []).append({
            "method": row["method"], "channel": row["channel"],
            "partner_interface": row["partner_interface"], "device_id": row["device_id"],
            "ip": row["ip_address"], "consent_reference": row["consent_reference"],
            "at": _iso(row["occurred_at"]), "outcome": row["outcome"],
        })  # fmt: skip
    loans = []
    for index, row in enumerate(batch.loans):
        item = {
            "reference": row["reference"], "account": batch.accounts[row["_account"]]["number"],
            "amount": str(row["amount"]), "fees": str(row["fees"]), "kind": row["kind"],
            "merchant": row["merchant"], "channel": row["channel"],
            "partner_interface": row["partner_interface"], "created_at": _iso(row["created_at"]),
            "schedule": schedules_of[index],
        }  # fmt: skip
        if index in events_of:
            item["authorization"] = events_of[index]
        loans.append(item)
    repayments = [
        {"reference": row["reference"], "account": batch.accounts[row["_account"]]["number"],
         "amount": str(row["amount"]), "channel": row["channel"], "paid_at": _iso(row["paid_at"]),
         "loan": batch.loans[row["_loan"]]["reference"]}
        for row in batch.repayments  # each loan's in the order of its installments
    ]  # fmt: skip
    return customers, loans, repayments


def _bulk_insert(batch: BulkBatch, *, actor: User, now: datetime) -> int:
    """Book a batch through the ledger feed's ingestion service, as the lending core would send
    it (customers, then loans, then repayments; each with its history and trail rows). Returns
    the number of items booked."""
    customers, loans, repayments = _bulk_items(batch)
    _booked(ingest.customers_ingest(actor=actor, reason=SEED_REASON, items=customers), "customers")
    _booked(ingest.loans_ingest(actor=actor, reason=SEED_REASON, items=loans), "loans")
    for start in range(0, len(repayments), ingest.BATCH_LIMIT):
        _booked(
            ingest.repayments_ingest(
                actor=actor,
                reason=SEED_REASON,
                items=repayments[start : start + ingest.BATCH_LIMIT],
            ),
            "repayments",
        )
    return len(customers) + len(loans) + len(repayments)


def _chunks(total: int, size: int) -> Iterator[list[int]]:
    for start in range(1, total + 1, size):
        yield list(range(start, min(start + size, total + 1)))


@dataclass(frozen=True)
class BatchJob:
    indices: list[int]
    seed: int
    loans_per_account: int
    now: datetime
    actor_id: int


def _seed_batch(job: BatchJob) -> tuple[int, int, int]:
    """One batch in one transaction: skips the indices that exist. Returns (created, skipped,
    rows written)."""
    usernames = [bulk_username(i) for i in job.indices]
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    wanted = [i for i in job.indices if bulk_username(i) not in existing]
    if not wanted:
        return 0, len(job.indices), 0
    batch = _bulk_batch(
        indices=wanted, seed=job.seed, loans_per_account=job.loans_per_account, now=job.now
    )
    actor = User.objects.get(pk=job.actor_id)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Demo data can be regenerated: don't wait for the WAL flush on each commit.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
        rows = _bulk_insert(batch, actor=actor, now=job.now)
    return len(wanted), len(job.indices) - len(wanted), rows


def default_workers(customers: int, batch_size: int) -> int:
    """Parallel batches only on PostgreSQL (SQLite has a single writer) and for large runs."""
    if connection.vendor != "postgresql" or customers < 4 * batch_size:
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def demo_customers_bulk_seed(
    *,
    actor: User,
    customers: int,
    loans_per_account: int,
    seed: int,
    batch_size: int = 1000,
    workers: int | None = None,
    progress: bool | None = None,
    report: SeedReport | None = None,
) -> SeedReport:
    """Bulk customers 1..N, one account each, `loans_per_account` loans each. One transaction
    per batch, so memory stays bounded and an interrupted run leaves whole batches only; large
    runs spread the batches over worker processes, each with its own connection."""
    report = report or SeedReport()
    now = timezone.now().replace(second=0, microsecond=0)
    jobs = (
        BatchJob(indices, seed, loans_per_account, now, actor.pk)
        for indices in _chunks(customers, batch_size)
    )
    workers = default_workers(customers, batch_size) if workers is None else workers
    if connection.in_atomic_block:  # inside a caller's transaction: stay in it
        workers = 1
    bar = tqdm(total=customers, unit="customer", disable=None if progress is None else not progress)
    try:
        if workers > 1:
            # Forked children must not share the parent's database socket.
            connections.close_all()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.imap_unordered(_seed_batch, jobs)
                for created, skipped, rows in results:
                    report.customers_created += created
                    report.customers_skipped += skipped
                    report.rows_written += rows
                    bar.update(created + skipped)
        else:
            for job in jobs:
                created, skipped, rows = _seed_batch(job)
                report.customers_created += created
                report.customers_skipped += skipped
                report.rows_written += rows
                bar.update(created + skipped)
    finally:
        bar.close()
    return report


# --- Everything ---------------------------------------------------------------------------------


def demo_seed(
    *,
    customers: int = 200,
    loans_per_account: int = 3,
    seed: int = 2026,
    progress: bool | None = None,
) -> SeedReport:
    """The whole demo data set: logins (alice, bob, staff), then the bulk customers."""
    actor = system_actor(SEED_ACTOR)
    report = SeedReport()
    now = timezone.now()
    # The staff first (the register names its owner), then the partner-interface register:
    # the core's loans are checked against it.
    demo_staff_seed(actor=actor, report=report)
    from .partners_demo import partner_interfaces_demo_seed

    partner_interfaces_demo_seed(actor=actor, now=now)
    if not User.objects.filter(username="alice").exists():
        demo_alice_seed(actor=actor, now=now)
        report.created_logins.append("alice")
    if not User.objects.filter(username="bob").exists():
        demo_bob_seed(actor=actor, now=now)
        report.created_logins.append("bob")
    demo_customers_bulk_seed(
        actor=actor,
        customers=customers,
        loans_per_account=loans_per_account,
        seed=seed,
        progress=progress,
        report=report,
    )
    # The walks, once the staff and the bulk customers exist (each plays once).
    from .partners_demo import demo_incident_walk

    played = demo_incident_walk(actor=actor, now=now) is not None
    report.walks["incident on PI-QUICKCASH-V1"] = "played" if played else "already there"
    # The closures app's walk (a product_change campaign) notes its own outcome in `walks`.
    hooks.demo_story_play(
        "product_change_campaign", account=None, actor=actor, now=now, walks=report.walks
    )
    return report
