"""Reads of the closures domain: access-scoped querysets (another customer's closure or appeal
does not exist: 404), the queues, and who has a stake in an account. Row locks are in
closures/locks.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from core.clock import window_end_from_delivery
from notices.selectors import notice_delivered_at

from .enums import APPEAL_WINDOW_DAYS, OPEN_APPEAL_STATUSES, OPEN_CLOSURE_STATUSES, ClosureStatus
from .models import Appeal, ClosureRequest

# How long proposing or approving a closure gives a stake in the account's cases.
STAKE_LOOKBACK = timedelta(days=365)


def closure_open_for_account(*, account_id: int) -> ClosureRequest | None:
    return (
        ClosureRequest.objects.filter(account_id=account_id, status__in=OPEN_CLOSURE_STATUSES)
        .order_by("-created_at")
        .first()
    )


def closures_for_user(*, user: User) -> QuerySet[ClosureRequest]:
    """The caller's own closures; staff and strangers get none."""
    if not user.is_authenticated or user.is_staff:
        return ClosureRequest.objects.none()
    return ClosureRequest.objects.filter(account__customer__user=user)


def closure_for_user(*, user: User, closure_id: int) -> ClosureRequest:
    try:
        return closures_for_user(user=user).select_related("account").get(pk=closure_id)
    except (ClosureRequest.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def appeals_for_user(*, user: User) -> QuerySet[Appeal]:
    if not user.is_authenticated or user.is_staff:
        return Appeal.objects.none()
    return Appeal.objects.filter(closure__account__customer__user=user)


def appeal_for_user(*, user: User, reference: str) -> Appeal:
    try:
        return (
            appeals_for_user(user=user)
            .select_related("closure", "closure__account")
            .get(reference=reference)
        )
    except Appeal.DoesNotExist as exc:
        raise Http404 from exc


def closures_due_for_effect(now: datetime) -> QuerySet[ClosureRequest]:
    """Approved closures whose effective date has come (served by closure_due_effect_idx)."""
    return ClosureRequest.objects.filter(
        status=ClosureStatus.APPROVED, effective_at__lte=now
    ).order_by("effective_at", "pk")


def closures_to_review() -> QuerySet[ClosureRequest]:
    return ClosureRequest.objects.filter(status=ClosureStatus.PENDING_REVIEW).order_by(
        "created_at", "pk"
    )


def appeals_to_decide() -> QuerySet[Appeal]:
    return Appeal.objects.filter(status__in=OPEN_APPEAL_STATUSES).order_by("due_at", "pk")


def closure_staff_with_stake(*, account_id: int) -> set[int]:
    """Staff who proposed or approved a closure of the account in the last 12 months: they may
    not handle a complaint, review or appeal about it (conflict of interest)."""
    cutoff = timezone.now() - STAKE_LOOKBACK
    rows = (
        ClosureRequest.objects.filter(account_id=account_id)
        .filter(Q(created_at__gte=cutoff) | Q(approved_at__gte=cutoff))
        .values_list("proposed_by_id", "proposed_by__is_staff", "approved_by_id")
    )
    stake: set[int] = set()
    for proposer, proposer_is_staff, approver in rows:
        if proposer_is_staff:
            stake.add(proposer)
        if approver is not None:
            stake.add(approver)
    return stake


def closure_notice_delivered_at(closure: ClosureRequest) -> datetime | None:
    """The earliest recorded delivery of the closure notice, on any channel."""
    return notice_delivered_at(event="closure.notice", obj=closure)


def closure_appeal_deadline(closure: ClosureRequest) -> datetime | None:
    """End of day 30 after the closure notice's delivery (Asia/Shanghai). The deadline stated in
    the notice is kept on the closure; a delivery recorded later than it was computed (an email
    after the portal copy never moves it earlier) only ever gives the customer more time. None
    while no notice went out."""
    if closure.notice_sent_at is None:
        return None
    delivered = closure_notice_delivered_at(closure)
    candidates = [d for d in (closure.appeal_deadline,) if d is not None]
    if delivered is not None:
        candidates.append(window_end_from_delivery(delivered, APPEAL_WINDOW_DAYS))
    return max(candidates) if candidates else None
