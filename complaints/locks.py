"""Row locks of the complaints app: every `*_for_update()` helper of complaints, in one place.

The global lock order (accounts/locks.py documents it for every app):

    customer -> account -> loans (by pk) -> complaint -> closure -> appeal

and, within a complaint, its own rows after it: disputed items (by pk), the review request,
the compensation. A transition that touches the ledger (a decision, a withdrawal) therefore
locks the complaint's account and disputed loans *before* the complaint
(`complaint_with_ledger_for_update`): which account and which loans a complaint concerns is
fixed at intake, so reading them before taking any lock is safe.

No complaint update changes a key column (a primary key, or `reference`, which nothing
references but is never changed), so every lock here is `FOR NO KEY UPDATE`: writers of the
row still queue up, while inserts that merely point at it (its case events, notes, items) go on.
Call these inside a transaction; the state checks come after the lock, never before.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts import locks as account_locks
from accounts.models import CreditAccount, LoanRecord
from core.errors import ApplicationError

from .models import Compensation, Complaint, DisputedItem, VerificationRequest


def complaint_for_update(*, complaint_id: int, with_assignee: bool = False) -> Complaint:
    """The complaint, locked (its assignee read along, unlocked, when asked); not_found else."""
    qs = Complaint.objects.select_for_update(no_key=True, of=("self",))
    if with_assignee:
        qs = qs.select_related("assignee")
    try:
        return qs.get(pk=complaint_id)
    except Complaint.DoesNotExist as exc:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404) from exc


@dataclass
class LockedCase:
    """A complaint locked with its part of the ledger: its account and its disputed loans (by
    loan id), then its disputed items (in pk order, each with its loan)."""

    complaint: Complaint
    account: CreditAccount | None
    loans: dict[int, LoanRecord]
    items: list[DisputedItem]


def complaint_with_ledger_for_update(*, complaint_id: int) -> LockedCase:
    """Lock, in the global order, the account and the disputed loans of a complaint, then the
    complaint and its disputed items."""
    fixed = Complaint.objects.filter(pk=complaint_id).values_list("account_id", flat=True)
    account_id = fixed.first()
    loan_ids = list(
        DisputedItem.objects.filter(complaint_id=complaint_id).values_list("loan_id", flat=True)
    )
    account = None
    loans: list[LoanRecord] = []
    if account_id is not None and loan_ids:
        account = account_locks.account_for_update(account_id=account_id)
        loans = account_locks.loans_for_update(loan_ids=loan_ids, account_id=account_id)
    complaint = complaint_for_update(complaint_id=complaint_id)
    by_id = {loan.pk: loan for loan in loans}
    items = disputed_items_for_update(complaint=complaint)
    for item in items:
        # The locked loan rows stand in for the items' own (unlocked) loan objects.
        item.loan = by_id.get(item.loan_id, item.loan)
    return LockedCase(complaint=complaint, account=account, loans=by_id, items=items)


def disputed_items_for_update(*, complaint: Complaint) -> list[DisputedItem]:
    return list(
        DisputedItem.objects.select_for_update(no_key=True, of=("self",))
        .filter(complaint=complaint)
        .select_related("loan")
        .order_by("pk")
    )


def review_for_update(*, review_id: int) -> VerificationRequest:
    """The review request, locked after its complaint (which is locked first and cached on it);
    not_found else."""
    complaint_id = (
        VerificationRequest.objects.filter(pk=review_id).values_list("complaint_id", flat=True)
    ).first()
    if complaint_id is None:
        raise ApplicationError(_("No open review."), code="no_review", status=404)
    complaint = complaint_for_update(complaint_id=complaint_id)
    review = VerificationRequest.objects.select_for_update(no_key=True).get(pk=review_id)
    review.complaint = complaint
    return review


def compensation_for_update(*, complaint: Complaint) -> Compensation | None:
    return Compensation.objects.select_for_update(no_key=True).filter(complaint=complaint).first()
