"""Reads of the accounts domain: access-scoped querysets and the `*_for_update()` lock helpers."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from .enums import LoanStatus
from .models import CreditAccount, Customer, LoanRecord, User


def account_for_update(*, account_id: int) -> CreditAccount:
    try:
        return CreditAccount.objects.select_for_update().get(pk=account_id)
    except CreditAccount.DoesNotExist as exc:
        raise Http404 from exc


def open_loans_for_update(*, account_id: int, loan_id: int | None = None) -> list[LoanRecord]:
    """Loans with something left to repay, oldest first, locked in pk order."""
    qs = LoanRecord.objects.select_for_update().filter(
        account_id=account_id,
        outstanding_amount__gt=0,
        status__in=[LoanStatus.POSTED, LoanStatus.DISPUTED],
    )
    if loan_id is not None:
        qs = qs.filter(pk=loan_id)
    return list(qs.order_by("created_at", "pk"))


def customer_for_user(*, user: User) -> Customer | None:
    if not user.is_authenticated or user.is_staff:
        return None
    return Customer.objects.filter(user=user).first()


def accounts_for_user(*, user: User) -> QuerySet[CreditAccount]:
    """The caller's own accounts; staff and strangers get none."""
    if not user.is_authenticated or user.is_staff:
        return CreditAccount.objects.none()
    return CreditAccount.objects.filter(customer__user=user).order_by("opened_at", "pk")


def account_for_user(*, user: User, account_id: int) -> CreditAccount:
    """One of the caller's own accounts, or 404 (never 403: another's account does not exist)."""
    try:
        return accounts_for_user(user=user).get(pk=account_id)
    except (CreditAccount.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def loans_for_account(*, account: CreditAccount) -> QuerySet[LoanRecord]:
    """Newest first; served by loan_account_created_idx."""
    return LoanRecord.objects.filter(account=account).order_by("-created_at", "-id")


def loans_for_user(*, user: User) -> QuerySet[LoanRecord]:
    if not user.is_authenticated or user.is_staff:
        return LoanRecord.objects.none()
    return LoanRecord.objects.filter(account__customer__user=user)
