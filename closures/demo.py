"""Demo data of the closures app (played by `manage.py seed_demo` through accounts.hooks).

- `demo_closed_for_overdue`: bob's `overdue` closure.
- `demo_product_change_campaign`: a `product_change` campaign over the bulk customers with a
  loan through PI-DIDI-CREDIT-V1 (the 滴滴金融 co-branded credit product is withdrawn; its
  audit is overdue with findings). T = the real now, Asia/Shanghai: created by `manager` T-14d
  10:00 and submitted, approved by `reviewer` T-13d 15:00 (four eyes, step-up), run by the real
  service T-13d 15:05 (one closure per account, approved, with its notice period of
  CLOSURE_NOTICE_DAYS_PRODUCT_CHANGE days, notice and appeal right: the closures take effect at
  T+17d). One customer appeals T-9d; `manager2` (no part in the campaign) takes it up and upholds
  it T-5d: that closure is reversed during its notice period, the others stay scheduled.

The services write "now" where they take no date; those dates, and the notices' times, are
set back to the story's afterwards with the reason DEMO_DATES (demo data only)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from accounts.delinquency import overdue_count_of
from accounts.enums import RiskSignalKind, Severity
from accounts.models import CreditAccount, User
from accounts.services import risk_signal_raise
from core.audit import save_with_history, system_actor
from core.clock import window_end_from_delivery
from core.models import StepUpVerification
from core.stepup import stepup_record
from notices.models import Notice

from . import services
from .enums import APPEAL_WINDOW_DAYS, AppealStatus, ClosureReason, ClosureSource
from .models import ClosureCampaign, ClosureRequest
from .services import campaigns

DEMO_DATES = "demo: dated as in the story (seed_demo)"


@transaction.atomic
def demo_closed_for_overdue(*, account: CreditAccount, actor: User) -> ClosureRequest:
    """Bob's story (issue 13 item 19): an `overdue` closure proposed by the risk engine on his
    computed overdue count, approved by a reviewer with a (recorded) step-up and notified 13 days
    ago, in effect 6 days ago after the 7-day notice period (nothing owed: `closed`), his appeal
    deadline 30 days from the notice. Idempotent: an existing closure is returned."""
    existing = ClosureRequest.objects.filter(account=account).order_by("-pk").first()
    if existing is not None:
        return existing
    now = timezone.now()
    proposer = system_actor("risk-engine")
    reviewer = system_actor("demo-reviewer")
    overdue = overdue_count_of(account_id=account.pk)  # from the schedules (4 in the demo)
    risk_signal_raise(
        actor=proposer,
        reason=f"demo: overdue {overdue} times",
        account_id=account.pk,
        kind=RiskSignalKind.OVERDUE,
        severity=Severity.HIGH,
        details={"overdue_count": overdue, "origin": "demo"},
    )
    closure = services.closure_propose(
        actor=proposer,
        reason="demo: overdue count at the threshold",
        account_id=account.pk,
        closure_reason=ClosureReason.OVERDUE,
        explanation="您的账户近期多次逾期还款。根据风险控制规则，多次逾期的账户将被关闭。"
        "未还金额仍按原计划偿还。",
        source=ClosureSource.RISK_ENGINE,
    )
    StepUpVerification.objects.create(user=reviewer, purpose="demo seed")
    approved_at = now - timedelta(days=13)
    services.closure_approve(
        actor=reviewer, closure_id=closure.pk, reason="demo: evidence checked", now=approved_at
    )
    _notice_backdate(closure, at=approved_at, actor=actor)
    closure.refresh_from_db()
    services.closure_take_effect(actor=actor, closure_id=closure.pk, now=closure.effective_at)
    closure.refresh_from_db()
    return closure


def _notice_backdate(closure: ClosureRequest, *, at, actor: User) -> None:
    """The demo plays 13 days ago what the services write now: the closure notice's rows and the
    appeal deadline counted from it are dated as if sent then (demo data only)."""
    ct = ContentType.objects.get_for_model(closure)
    for notice in Notice.objects.filter(
        event="closure.notice", content_type=ct, object_id=str(closure.pk)
    ):
        notice.created_at = at
        fields = ["created_at"]
        if notice.sent_at is not None:
            notice.sent_at = at
            fields.append("sent_at")
        save_with_history(notice, actor=actor, reason=DEMO_DATES, update_fields=fields)
    closure.appeal_deadline = window_end_from_delivery(at, APPEAL_WINDOW_DAYS)
    save_with_history(closure, actor=actor, reason=DEMO_DATES, update_fields=["appeal_deadline"])


# --- The product_change campaign ----------------------------------------------------------------

CAMPAIGN_TITLE = "滴滴金融联名信用产品下线"
CAMPAIGN_SEGMENT = {"partner_interface": "PI-DIDI-CREDIT-V1"}
CAMPAIGN_ZH = (
    "因与滴滴金融的合作到期，通过该渠道开通的联名信用产品将停止服务，您的信用账户将在通知期满后"
    "关闭。未还金额仍按原计划偿还，不会提前收回；账户记录会一直保留。如有异议，可在截止日期前申诉。"
)
CAMPAIGN_EN = (
    "Our partnership with DiDi Finance has ended, so the co-branded credit product opened "
    "through it is withdrawn and your credit account will close when the notice period ends. "
    "What you owe stays payable on its schedule, never earlier; your records are kept. You may "
    "appeal before the deadline."
)
APPEAL_GROUNDS = (
    "我的账户是在京东白条渠道开通的，只是去年用滴滴金融分过一次期，早已还清。我每月都在用这个账户，"
    "请不要关闭。"
)
APPEAL_DECISION = (
    "经核查，您的账户并非通过滴滴金融渠道开通，仅有一笔已还清的滴滴金融分期，不属于本次产品下线的"
    "范围。关闭已撤销，账户恢复正常使用，额度不变。"
)
# Days ago, hour, minute (Asia/Shanghai) of each step.
CAMPAIGN_DATES = {
    "created": (14, 10, 0),
    "submitted": (14, 10, 40),
    "approved": (13, 15, 0),
    "run": (13, 15, 5),
    "appealed": (9, 20, 30),
    "decided": (5, 11, 0),
}


def _at(now: datetime, when: tuple[int, int, int]) -> datetime:
    days, hour, minute = when
    day = timezone.localdate(now) - timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _backdate(obj, *, actor: User, **values: Any) -> None:
    for name, value in values.items():
        setattr(obj, name, value)
    save_with_history(obj, actor=actor, reason=DEMO_DATES, update_fields=list(values))


def _notices_backdate(obj, *, at: datetime, actor: User, event: str | None = None) -> None:
    ct = ContentType.objects.get_for_model(obj)
    notices = Notice.objects.filter(content_type=ct, object_id=str(obj.pk))
    if event:
        notices = notices.filter(event=event)
    for notice in notices:
        values = {"created_at": at}
        if notice.sent_at is not None:
            values["sent_at"] = at
        _backdate(notice, actor=actor, **values)


def demo_product_change_campaign(
    *, account: Any = None, actor: User, now: datetime, walks: dict[str, Any] | None = None
) -> ClosureCampaign | None:
    """The campaign walk of the module docstring, through the real services. Played once (a
    campaign with CAMPAIGN_TITLE exists: nothing is done); skipped when the segment matches
    fewer than two accounts (a small --customers). On SQLite the run takes its ORM path."""
    walks = walks if walks is not None else {}
    name = "product_change campaign"
    if ClosureCampaign.objects.filter(title=CAMPAIGN_TITLE).exists():
        walks[name] = "already there"
        return None
    segment = campaigns.segment_clean(CAMPAIGN_SEGMENT)
    if campaigns.segment_preview(segment=segment, now=now).count < 2:
        walks[name] = "skipped (fewer than 2 bulk accounts with a PI-DIDI-CREDIT-V1 loan)"
        return None
    campaign = _campaign_play(actor=actor, now=now, segment=segment)
    progress = campaigns.campaign_progress(campaign)
    walks[name] = (
        f"{campaign.proposed_count} closures approved and notified, "
        f"{progress['upheld']} appeal upheld, {progress['approved']} closing at "
        f"{timezone.localtime(_first_effective_at(campaign)):%Y-%m-%d}"
    )
    return campaign


def _first_effective_at(campaign: ClosureCampaign) -> datetime:
    return ClosureRequest.objects.filter(campaign=campaign).order_by("pk").first().effective_at


@transaction.atomic
def _campaign_play(*, actor: User, now: datetime, segment: dict[str, Any]) -> ClosureCampaign:
    # One transaction: the run a worker is sent on approval arrives after the commit, finds the
    # campaign done and writes nothing.
    staff = {u.username: u for u in User.objects.filter(
        username__in=("manager", "reviewer", "manager2"), is_staff=True)}  # fmt: skip
    manager, reviewer, decider = staff["manager"], staff["reviewer"], staff["manager2"]
    dates = {step: _at(now, when) for step, when in CAMPAIGN_DATES.items()}
    campaign = services.campaign_create(
        actor=manager,
        reason="与滴滴金融的合作到期，下线联名信用产品",
        title=CAMPAIGN_TITLE,
        closure_reason="product_change",
        segment=segment,
        explanation_zh=CAMPAIGN_ZH,
        explanation_en=CAMPAIGN_EN,
        now=dates["created"],
    )
    campaign = services.campaign_submit(
        actor=manager, campaign_id=campaign.pk, reason="已核对客户范围和样本"
    )
    _backdate(campaign, actor=actor, submitted_at=dates["submitted"],
              previewed_at=dates["submitted"])  # fmt: skip
    stepup_record(user=reviewer, session_key="", purpose="demo: approve the campaign")
    campaign = services.campaign_approve(
        actor=reviewer,
        campaign_id=campaign.pk,
        reason="合作部门已确认产品下线；中英文说明已核对",
    )
    _backdate(campaign, actor=actor, approved_at=dates["approved"],
              previewed_at=dates["approved"])  # fmt: skip
    while not campaigns.campaign_run_batch(campaign_id=campaign.pk, now=dates["run"]).finished:
        pass
    closures = list(
        ClosureRequest.objects.filter(campaign=campaign)
        .select_related("account__customer__user")
        .order_by("account_id")
    )
    for closure in closures:
        _notices_backdate(closure, at=dates["run"], actor=actor, event="closure.notice")
    # One customer appeals (the first whose language is Chinese) and wins.
    appellant = next(
        (c for c in closures if c.account.customer.preferred_language.startswith("zh")),
        closures[0],
    )
    appeal = services.appeal_file(
        actor=appellant.account.customer.user,
        closure_id=appellant.pk,
        grounds=APPEAL_GROUNDS,
        now=dates["appealed"],
    )
    _notices_backdate(appeal, at=dates["appealed"], actor=actor, event="appeal.received")
    services.appeal_take_up(actor=decider, appeal_id=appeal.pk, now=dates["decided"])
    stepup_record(user=decider, session_key="", purpose="demo: uphold the appeal")
    appeal = services.appeal_decide(
        actor=decider,
        appeal_id=appeal.pk,
        outcome=AppealStatus.UPHELD,
        decision_text=APPEAL_DECISION,
        reason="账户并非通过下线产品开通，其滴滴金融分期已还清",
        now=dates["decided"],
    )
    _notices_backdate(appeal, at=dates["decided"], actor=actor, event="appeal.upheld")
    campaign.refresh_from_db()
    return campaign
