"""Abnormal closure monitoring (PRODUCT.md, seed 000: 识别异常关闭行为). Three rules, each alert
raised once (a unique key), listed in the admin and sent to managers by email:

1. one staff member proposes more than CLOSURE_ALERT_PER_STAFF_PER_HOUR closures within an hour;
2. the day's closure proposals exceed 3x the trailing 7-day daily average (and at least
   CLOSURE_ALERT_DAILY_MIN, so a quiet week does not alert on a single closure);
3. a non-customer closure is proposed for an account with no open risk signal.

Rules 1 and 3 run on every proposal (`alerts_on_proposal`, called by the proposal services) and
on every batch of the risk scan (`alerts_on_proposals`, the same rules over a set in one query);
rule 2 runs after a risk scan and in the periodic sweep (`alerts_daily_check`).

Policy closure campaigns (closures/services/campaigns.py) are known here: their closures have no
risk signal by design (a product change) and were approved with four eyes as one campaign, so
rule 3 does not run on them and rule 2 does not count them; instead managers get one summary
alert per campaign when its run ends (`campaign_summary_alert`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.enums import RiskSignalStatus
from accounts.models import RiskSignal, User
from core.audit import save_with_history
from notices.services import notice_enqueue_staff

from .enums import AlertRule, ClosureReason, ClosureSource
from .models import ClosureAlert, ClosureCampaign, ClosureRequest

# Proposals by these sources count towards a staff member's hourly burst (rule 1).
STAFF_SOURCES = (ClosureSource.AGENT, ClosureSource.RISK_OFFICER)


def _alert_raise(
    *,
    rule: str,
    key: str,
    actor: User,
    title: str,
    text: str,
    closure: ClosureRequest | None = None,
    staff: User | None = None,
    details: dict | None = None,
) -> ClosureAlert | None:
    if ClosureAlert.objects.filter(key=key).exists():
        return None
    alert = ClosureAlert(rule=rule, key=key, closure=closure, staff=staff, details=details or {})
    try:
        with transaction.atomic():
            save_with_history(alert, actor=actor, reason=f"closure alert: {rule}")
    except IntegrityError:
        return None  # raised by a concurrent check: once is enough
    notice_enqueue_staff(
        event="staff.closure_alert",
        context={
            "title": title,
            "text": text,
            "link": f"{settings.PORTAL_BASE_URL}/admin/closures/closurealert/{alert.pk}/change/",
        },
        actor=actor,
        role="manager",
        obj=alert,
    )
    return alert


def _proposal_alerts(
    closure: ClosureRequest, *, actor: User, has_open_signal: bool
) -> list[ClosureAlert]:
    """Rules 1 and 3 for one new proposal."""
    raised = []
    if closure.reason != ClosureReason.CUSTOMER_REQUEST and not has_open_signal:
        raised.append(
            _alert_raise(
                rule=AlertRule.NO_RISK_SIGNAL,
                key=f"no_risk_signal:{closure.pk}",
                actor=actor,
                closure=closure,
                staff=closure.proposed_by if closure.proposed_by.is_staff else None,
                title=f"closure #{closure.pk} proposed without an open risk signal",
                text=f"{closure.get_reason_display()} by {closure.proposed_by.get_username()}",
                details={"account": closure.account_id, "reason": closure.reason},
            )
        )
    if closure.source in STAFF_SOURCES:
        raised.append(_staff_burst_check(closure, actor=actor))
    return [a for a in raised if a is not None]


def _staff_burst_check(closure: ClosureRequest, *, actor: User) -> ClosureAlert | None:
    limit = settings.CLOSURE_ALERT_PER_STAFF_PER_HOUR
    since = closure.created_at - timedelta(hours=1)
    count = ClosureRequest.objects.filter(
        proposed_by_id=closure.proposed_by_id, created_at__gt=since
    ).count()  # served by closure_proposer_idx, bounded by one hour of one person
    if count <= limit:
        return None
    hour = timezone.localtime(closure.created_at).strftime("%Y%m%d%H")
    return _alert_raise(
        rule=AlertRule.STAFF_BURST,
        key=f"staff_burst:{closure.proposed_by_id}:{hour}",
        actor=actor,
        staff=closure.proposed_by,
        title=f"{closure.proposed_by.get_username()} proposed {count} closures in an hour",
        text=f"more than {limit} closures proposed within one hour",
        details={"count": count, "limit": limit},
    )


def _open_signal_exists(account_id: int) -> bool:
    return RiskSignal.objects.filter(account_id=account_id, status=RiskSignalStatus.OPEN).exists()


def alerts_on_proposal(*, closure: ClosureRequest, actor: User) -> list[ClosureAlert]:
    """Rules 1 and 3 for a proposal just made (closure_propose and its kin)."""
    has_open_signal = closure.reason == ClosureReason.CUSTOMER_REQUEST or _open_signal_exists(
        closure.account_id
    )
    return _proposal_alerts(closure, actor=actor, has_open_signal=has_open_signal)


def alerts_on_proposals(*, closures: QuerySet[ClosureRequest], actor: User) -> list[ClosureAlert]:
    """The same rules for a set of new proposals (a risk-scan batch), in one query: only the
    proposals a rule may fire for reach Python (a risk-scan proposal has its fresh overdue
    signal and no staff proposer, so normally none does)."""
    open_signal = RiskSignal.objects.filter(
        account_id=OuterRef("account_id"), status=RiskSignalStatus.OPEN
    )
    candidates = (
        closures.annotate(has_open_signal=Exists(open_signal))
        .filter(
            (Q(has_open_signal=False) & ~Q(reason=ClosureReason.CUSTOMER_REQUEST))
            | Q(source__in=STAFF_SOURCES)
        )
        .select_related("proposed_by")
        .order_by("pk")
    )
    raised: list[ClosureAlert] = []
    for closure in candidates:
        raised += _proposal_alerts(closure, actor=actor, has_open_signal=closure.has_open_signal)
    return raised


def alerts_daily_check(*, actor: User, now: datetime | None = None) -> ClosureAlert | None:
    """Today's proposals against the trailing 7-day daily average: one aggregate query."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    week_ago = today - timedelta(days=7)
    # A campaign's closures are summed up by its own alert (campaign_summary_alert).
    counts = ClosureRequest.objects.filter(
        created_at__gte=week_ago, campaign__isnull=True
    ).aggregate(
        today=Count("pk", filter=Q(created_at__gte=today)),
        week=Count("pk", filter=Q(created_at__lt=today)),
    )
    average = counts["week"] / 7
    minimum = getattr(settings, "CLOSURE_ALERT_DAILY_MIN", 10)
    if counts["today"] < minimum or counts["today"] <= 3 * average:
        return None
    return _alert_raise(
        rule=AlertRule.DAILY_SPIKE,
        key=f"daily_spike:{today:%Y-%m-%d}",
        actor=actor,
        title=f"{counts['today']} closures today",
        text=f"trailing 7-day daily average: {average:.1f}",
        details={"today": counts["today"], "average": round(average, 2)},
    )


def campaign_summary_alert(*, campaign: ClosureCampaign, actor: User) -> ClosureAlert | None:
    """Once per campaign, when its run ends (done or stopped): what it did, for managers."""
    return _alert_raise(
        rule=AlertRule.CAMPAIGN_SUMMARY,
        key=f"campaign:{campaign.pk}",
        actor=actor,
        staff=campaign.created_by,
        title=f"closure campaign #{campaign.pk} {campaign.status}: "
        f"{campaign.proposed_count} closures",
        text=(
            f"{campaign.title} ({campaign.reason}); created by "
            f"{campaign.created_by.get_username()}, approved by "
            f"{campaign.approved_by.get_username() if campaign.approved_by else '-'}; "
            f"{campaign.matched_count} accounts matched when approved, "
            f"{campaign.proposed_count} closures written, {campaign.notified_count} notified. "
            f"{settings.PORTAL_BASE_URL}/admin/closures/closurecampaign/{campaign.pk}/change/"
        ),
        details={
            "campaign": campaign.pk,
            "status": campaign.status,
            "reason": campaign.reason,
            "matched": campaign.matched_count,
            "proposed": campaign.proposed_count,
            "notified": campaign.notified_count,
            "segment": campaign.segment,
        },
    )
