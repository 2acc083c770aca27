"""Reads of the accounts domain: access-scoped querysets (another customer's rows do not exist).

The `*_for_update()` lock helpers live in accounts.locks. `account_for_update` is re-exported
here only until the other apps' callers use accounts.locks (the lead removes it then)."""

from __future__ import annotations

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import F, OuterRef, QuerySet
from django.db.models.functions import JSONObject
from django.http import Http404

from .locks import account_for_update
from .models import (
    AccountCredit,
    BureauSubmission,
    CreditAccount,
    CreditReportCorrection,
    Customer,
    LoanRecord,
    User,
)

__all__ = [
    "account_for_update",  # re-export, see above
    "account_for_user",
    "accounts_for_user",
    "corrections_with_submissions",
    "credits_for_account",
    "customer_for_user",
    "loans_for_account",
    "loans_for_user",
]


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


def credits_for_account(*, account: CreditAccount, limit: int = 50) -> list[AccountCredit]:
    """The account's ledger credit entries (refunds, compensation, payouts), newest first
    (credit_account_idx)."""
    return list(
        AccountCredit.objects.filter(account=account).order_by("-created_at", "-pk")[:limit]
    )


# What a list of a correction's bureau messages shows of each (staff pages).
_SUBMISSION_SHOWN = (
    "id",
    "message",
    "outcome",
    "status",
    "sent_at",
    "acknowledged_at",
    "bureau_reference",
    "last_error",
)


def corrections_with_submissions(*, origin: str) -> list[CreditReportCorrection]:
    """The credit-report objections and corrections of `origin`, each with its loan record and
    its messages to the bureau (`.submissions_shown`, oldest first, the fields above), in one
    query: the messages come as one JSON array column of each correction's row."""
    submissions = (
        BureauSubmission.objects.filter(correction=OuterRef("pk"))
        .order_by("pk")
        .values(shown=JSONObject(**{name: F(name) for name in _SUBMISSION_SHOWN}))
    )
    corrections = list(
        CreditReportCorrection.objects.filter(origin=origin)
        .select_related("loan")
        .annotate(submission_rows=ArraySubquery(submissions))
        .order_by("pk")
    )
    fields = {name: BureauSubmission._meta.get_field(name) for name in _SUBMISSION_SHOWN}
    for correction in corrections:
        correction.submissions_shown = [
            BureauSubmission(
                correction=correction,
                **{name: fields[name].to_python(value) for name, value in row.items()},
            )
            for row in correction.submission_rows or ()
        ]
    return corrections
