"""Credit-bureau objections and corrections.

An objection mark (`objection`) is opened when a customer disputes a loan and is settled when
the dispute is decided, or withdrawn with the complaint; a correction (`correction`) is opened
when a decision changes what was reported (a reversed loan, a reversed closure). `origin` says
which case opened the row ("complaint:<reference>", "appeal:<reference>"); `text` is stored in
the row's own `reason` column and `reason` is the history's change reason.

Each goes to the credit bureau (accounts/bureau): the objection mark when it is opened (intake),
its outcome when the dispute is decided or withdrawn, a correction when it is opened (decision).
The messages are rows written here and sent by a worker after commit; the objection is `sent`
once the bureau acknowledged the mark and `settled` (or `withdrawn`) once it acknowledged the
outcome. An objection whose mark never left is settled (or withdrawn) at once: the bureau never
heard of it, and its mark is cancelled.

These run inside the caller's transaction, after the account's and the loans' locks.
"""

from __future__ import annotations

from datetime import datetime

from core.audit import save_with_history

from .. import locks
from ..bureau.enums import BureauMessage, BureauStatus, ObjectionOutcome
from ..bureau.services import submission_cancel, submission_enqueue, submissions_for_update
from ..enums import CorrectionKind, CorrectionStatus, LoanStatus
from ..models import BureauSubmission, CreditAccount, CreditReportCorrection, LoanRecord, User


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
    message = (
        BureauMessage.OBJECTION_MARK
        if kind == CorrectionKind.OBJECTION
        else BureauMessage.CORRECTION
    )
    submission_enqueue(correction=correction, message=message, actor=actor, reason=reason)
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


_AT_BUREAU = (BureauStatus.SENDING, BureauStatus.ACKNOWLEDGED, BureauStatus.UNKNOWN)


def _objections_end(
    objections: list[CreditReportCorrection],
    *,
    outcome_of: dict[int, str],
    actor: User,
    reason: str,
    now: datetime,
) -> int:
    """Each locked objection: ended now if its mark never left (the pending mark cancelled), or
    its outcome queued for the bureau (ended when the bureau acknowledges it)."""
    submissions = submissions_for_update(correction_ids=[o.pk for o in objections])
    by_objection: dict[int, list[BureauSubmission]] = {}
    for submission in submissions:
        by_objection.setdefault(submission.correction_id, []).append(submission)
    for objection in objections:
        outcome = outcome_of[objection.pk]
        rows = by_objection.get(objection.pk, [])
        if any(
            r.message == BureauMessage.OBJECTION_OUTCOME
            and r.status != BureauStatus.CANCELLED
            and r.status != BureauStatus.FAILED
            for r in rows
        ):
            continue  # its outcome is already on its way
        marks = [r for r in rows if r.message == BureauMessage.OBJECTION_MARK]
        # A mark that is at the bureau, or may be (sending, unknown), needs an outcome.
        left = [m for m in marks if m.status in _AT_BUREAU]
        if not left and objection.status == CorrectionStatus.OPEN:
            for mark in marks:
                if mark.status == BureauStatus.PENDING:
                    submission_cancel(mark, actor=actor, reason=reason)
            withdrawn = outcome == ObjectionOutcome.WITHDRAWN
            objection.status = CorrectionStatus.WITHDRAWN if withdrawn else CorrectionStatus.SETTLED
            objection.settled_at = now
            save_with_history(
                objection, actor=actor, reason=reason, update_fields=["status", "settled_at"]
            )
            continue
        submission_enqueue(
            correction=objection,
            message=BureauMessage.OBJECTION_OUTCOME,
            outcome=outcome,
            actor=actor,
            reason=reason,
        )
    return len(objections)


def objections_settle(
    *, origin: str, loan_ids: list[int], actor: User, reason: str, now: datetime
) -> int:
    """The dispute was decided: the case's open or sent objections on these loans are settled,
    at once when their mark never left, else when the bureau acknowledges the outcome (upheld
    when the loan was reversed, rejected otherwise). Returns how many."""
    objections = locks.objections_for_update(
        origin=origin,
        statuses=[CorrectionStatus.OPEN, CorrectionStatus.SENT],
        loan_ids=loan_ids,
    )
    reversed_ids = set(
        LoanRecord.objects.filter(
            pk__in=[o.loan_id for o in objections], status=LoanStatus.REVERSED
        ).values_list("pk", flat=True)
    )
    outcome_of = {
        o.pk: ObjectionOutcome.UPHELD if o.loan_id in reversed_ids else ObjectionOutcome.REJECTED
        for o in objections
    }
    return _objections_end(objections, outcome_of=outcome_of, actor=actor, reason=reason, now=now)


def objections_withdraw(*, origin: str, actor: User, reason: str, now: datetime) -> int:
    """The case was withdrawn: its objections are withdrawn, at once when their mark never
    left, else when the bureau acknowledges the withdrawal. Returns how many."""
    objections = locks.objections_for_update(
        origin=origin, statuses=[CorrectionStatus.OPEN, CorrectionStatus.SENT]
    )
    outcome_of = {o.pk: ObjectionOutcome.WITHDRAWN for o in objections}
    return _objections_end(objections, outcome_of=outcome_of, actor=actor, reason=reason, now=now)
