"""Reads of the closures domain: access-scoped querysets (another customer's closure or appeal
does not exist: 404), the queues, and who has a stake in an account. Row locks are in
closures/locks.py."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User

from .enums import OPEN_APPEAL_STATUSES, OPEN_CLOSURE_STATUSES, ClosureStatus
from .models import Appeal, ClosureRequest


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
    """Staff who proposed or approved a closure of the account: they may not handle a complaint
    or an appeal about it (conflict of interest)."""
    rows = ClosureRequest.objects.filter(account_id=account_id).values_list(
        "proposed_by_id", "proposed_by__is_staff", "approved_by_id"
    )
    stake: set[int] = set()
    for proposer, proposer_is_staff, approver in rows:
        if proposer_is_staff:
            stake.add(proposer)
        if approver is not None:
            stake.add(approver)
    return stake
