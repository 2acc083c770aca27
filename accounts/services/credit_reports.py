"""Credit-bureau objections and corrections.

An objection mark (`objection`) is opened when a customer disputes a loan and is settled when
the dispute is decided, or withdrawn with the complaint; a correction (`correction`) is opened
when a decision changes what was reported (a reversed loan, a reversed closure). `origin` says
which case opened the row ("complaint:<reference>", "appeal:<reference>"); `text` is stored in
the row's own `reason` column and `reason` is the history's change reason.

These run inside the caller's transaction, after the account's and the loans' locks.
"""

from __future__ import annotations

from datetime import datetime

from core.audit import save_with_history

from .. import locks
from ..enums import CorrectionKind, CorrectionStatus
from ..models import CreditAccount, CreditReportCorrection, LoanRecord, User


def _correction_open(
    *,
    kind: str,
    account: CreditAccount,
    loan: LoanRecord | None,
    origin: str,
    text: str,
    opened_at: datetime,
    due_at: datetime | None,
    actor: User,
    reason: str,
) -> CreditReportCorrection:
    correction = CreditReportCorrection(
        account=account,
        loan=loan,
        kind=kind,
        reason=text,
        origin=origin,
        opened_at=opened_at,
        due_at=due_at,
    )
    save_with_history(correction, actor=actor, reason=reason)
    return correction


def objection_open(
    *,
    account: CreditAccount,
    loan: LoanRecord,
    origin: str,
    text: str,
    opened_at: datetime,
    due_at: datetime,
    actor: User,
    reason: str,
) -> CreditReportCorrection:
    """Mark the loan as objected to at the credit bureau, to be settled by `due_at`."""
    return _correction_open(
        kind=CorrectionKind.OBJECTION,
        account=account,
        loan=loan,
        origin=origin,
        text=text,
        opened_at=opened_at,
        due_at=due_at,
        actor=actor,
        reason=reason,
    )


def correction_open(
    *,
    account: CreditAccount,
    loan: LoanRecord | None = None,
    origin: str,
    text: str,
    opened_at: datetime,
    due_at: datetime | None = None,
    actor: User,
    reason: str,
) -> CreditReportCorrection:
    """Open a correction of what was reported about the account (or one of its loans)."""
    return _correction_open(
        kind=CorrectionKind.CORRECTION,
        account=account,
        loan=loan,
        origin=origin,
        text=text,
        opened_at=opened_at,
        due_at=due_at,
        actor=actor,
        reason=reason,
    )


def _objections_end(
    objections: list[CreditReportCorrection],
    *,
    status: str,
    actor: User,
    reason: str,
    now: datetime,
) -> int:
    for objection in objections:
        objection.status = status
        objection.settled_at = now
        save_with_history(
            objection, actor=actor, reason=reason, update_fields=["status", "settled_at"]
        )
    return len(objections)


def objections_settle(
    *, origin: str, loan_ids: list[int], actor: User, reason: str, now: datetime
) -> int:
    """The dispute was decided: the case's open or sent objections on these loans are settled.
    Returns how many."""
    objections = locks.objections_for_update(
        origin=origin,
        statuses=[CorrectionStatus.OPEN, CorrectionStatus.SENT],
        loan_ids=loan_ids,
    )
    return _objections_end(
        objections, status=CorrectionStatus.SETTLED, actor=actor, reason=reason, now=now
    )


def objections_withdraw(*, origin: str, actor: User, reason: str, now: datetime) -> int:
    """The case was withdrawn: its objections not yet sent to the bureau are withdrawn.
    Returns how many."""
    objections = locks.objections_for_update(origin=origin, statuses=[CorrectionStatus.OPEN])
    return _objections_end(
        objections, status=CorrectionStatus.WITHDRAWN, actor=actor, reason=reason, now=now
    )
