"""Demo data of the closures app (called by `manage.py seed_demo`)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.enums import RiskSignalKind, Severity
from accounts.models import CreditAccount, User
from accounts.services import risk_signal_raise
from core.audit import system_actor
from core.models import StepUpVerification

from . import services
from .enums import ClosureReason, ClosureSource
from .models import ClosureRequest


@transaction.atomic
def demo_closed_for_overdue(*, account: CreditAccount, actor: User) -> ClosureRequest:
    """Bob's story: an `overdue` closure proposed by the risk engine eight days ago, approved by a
    reviewer with a (recorded) step-up, in effect since yesterday; its notice went out with the
    appeal window open for three more weeks. Idempotent: an existing closure is returned."""
    existing = ClosureRequest.objects.filter(account=account).order_by("-pk").first()
    if existing is not None:
        return existing
    now = timezone.now()
    proposer = system_actor("risk-engine")
    reviewer = system_actor("demo-reviewer")
    risk_signal_raise(
        actor=proposer,
        reason="demo: overdue three times",
        account_id=account.pk,
        kind=RiskSignalKind.OVERDUE,
        severity=Severity.HIGH,
        details={"overdue_count": max(account.overdue_count, 3), "origin": "demo"},
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
    approved_at = now - timedelta(days=8)
    services.closure_approve(
        actor=reviewer, closure_id=closure.pk, reason="demo: evidence checked", now=approved_at
    )
    services.closure_take_effect(actor=actor, closure_id=closure.pk, now=now)
    closure.refresh_from_db()
    return closure
