"""Demo data of the closures app (called by `manage.py seed_demo`)."""

from __future__ import annotations

from datetime import timedelta

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
from notices.models import Notice

from . import services
from .enums import APPEAL_WINDOW_DAYS, ClosureReason, ClosureSource
from .models import ClosureRequest

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
