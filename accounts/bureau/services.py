"""Sending objection marks, their outcomes and corrections to the credit bureau, with the
outbox's at-most-once discipline (notices/services/send.py):

- a submission row is written in the caller's transaction (`submission_enqueue`) and its task
  published by name once that transaction commits (`submissions_publish`; a broker that cannot
  be reached leaves the row pending for `bureau_sweep`);
- a worker claims a pending, due row (pending -> sending, one more attempt) in a committed
  transaction with `SELECT ... FOR UPDATE SKIP LOCKED`, talks to the backend outside any
  transaction, and records the outcome: `acknowledged` (the time sent, the bureau's reference
  and the time it acknowledged; the objection or correction moves on in the same
  transaction), a retry with backoff, `failed`, or `unknown`;
- a row left `sending` past the lease (its worker died) or whose answer could not be known is
  `unknown`: it is never sent again unless staff resend it knowingly (`submission_resend`).

An objection mark becomes `sent` when the bureau acknowledged its mark, and `settled` (or
`withdrawn`) when it acknowledged the outcome; a correction is settled when it acknowledged the
correction.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.audit import save_with_history, system_actor
from core.broker import tasks_publish
from core.errors import ApplicationError
from core.roles import MANAGER
from notices.services import notice_enqueue_staff

from ..enums import CorrectionStatus
from ..models import BureauSubmission, CreditReportCorrection
from .backends import (
    BureauNotSent,
    BureauOutcomeUnknown,
    BureauReceipt,
    BureauRefused,
    bureau_backend,
)
from .enums import BureauMessage, BureauStatus, ObjectionOutcome

if TYPE_CHECKING:
    from ..models import User

logger = logging.getLogger(__name__)

# The name under which accounts/tasks.py registers the task (published by name, so that the
# services never import the tasks module).
BUREAU_SUBMIT_TASK = "accounts.bureau_submit"
STAFF_PROBLEM_EVENT = "staff.bureau_problem"
LOST_WORKER_ERROR = gettext_noop(
    "The worker was lost while sending; the bureau may have the message, so it was not sent "
    "again automatically."
)
# An outcome waits for its own mark to have left (the bureau would not know what it settles).
OUTCOME_WAIT = timedelta(minutes=1)


# --- Writing -------------------------------------------------------------------------------------


def _payload(correction: CreditReportCorrection, message: str, outcome: str) -> dict:
    loan = correction.loan
    account = correction.account
    return {
        "type": message,
        "account": account.number,
        "customer": account.customer.name if account.customer_id else "",
        "loan": (
            {
                "reference": loan.reference,
                "amount": str(loan.amount),
                "created_at": loan.created_at.isoformat(),
            }
            if loan is not None
            else None
        ),
        "outcome": outcome,
        "text": correction.reason,
        "origin": correction.origin,
        "opened_at": correction.opened_at.isoformat(),
        "settle_by": correction.due_at.isoformat() if correction.due_at else None,
    }


def submission_enqueue(
    *,
    correction: CreditReportCorrection,
    message: str,
    actor: User,
    reason: str,
    outcome: str = "",
) -> BureauSubmission:
    """Write one message for the bureau in the caller's transaction; its task is published
    once that transaction commits."""
    submission = BureauSubmission(
        correction=correction,
        message=message,
        outcome=outcome,
        payload=_payload(correction, message, outcome),
    )
    save_with_history(submission, actor=actor, reason=reason)
    transaction.on_commit(partial(submissions_publish, [submission.pk]))
    return submission


def submissions_for_update(*, correction_ids: list[int]) -> list[BureauSubmission]:
    """The submissions of these objections or corrections, locked (after them) in pk order."""
    return list(
        BureauSubmission.objects.select_for_update(no_key=True)
        .filter(correction_id__in=correction_ids)
        .order_by("pk")
    )


def submission_cancel(submission: BureauSubmission, *, actor: User, reason: str) -> None:
    """A locked, never-sent submission is no longer to be sent."""
    submission.status = BureauStatus.CANCELLED
    save_with_history(submission, actor=actor, reason=reason, update_fields=["status"])


# --- Publishing ----------------------------------------------------------------------------------


def submissions_publish(submission_ids: list[int]) -> int:
    """Publish one task per submission; never raises (the sweep publishes what is left)."""
    try:
        return tasks_publish(BUREAU_SUBMIT_TASK, [(pk,) for pk in submission_ids])
    except Exception:
        logger.exception(
            "could not publish bureau submissions %s; the sweep will", submission_ids[:20]
        )
        return 0


# --- Sending -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitOutcome:
    status: str  # "acknowledged", "retry", "failed", "unknown" or "skipped:<why>"
    retry_at: datetime | None = None


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter after the `attempt`-th failed try, from
    CREDIT_BUREAU_RETRY_BASE up to CREDIT_BUREAU_RETRY_MAX, ±20 %."""
    base = settings.CREDIT_BUREAU_RETRY_BASE.total_seconds()
    cap = settings.CREDIT_BUREAU_RETRY_MAX.total_seconds()
    steps = max(settings.CREDIT_BUREAU_MAX_ATTEMPTS - 2, 1)
    factor = (cap / base) ** (1 / steps)
    seconds = min(cap, base * factor ** max(attempt - 1, 0))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


@transaction.atomic
def _claim(*, submission_id: int, actor: User) -> BureauSubmission | SubmitOutcome:
    now = timezone.now()
    submission = (
        BureauSubmission.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("correction")
        .filter(pk=submission_id)
        .first()
    )
    if submission is None:
        return SubmitOutcome("skipped:locked_or_missing")
    if submission.status != BureauStatus.PENDING:
        return SubmitOutcome(f"skipped:{submission.status}")
    if submission.next_attempt_at > now + timedelta(seconds=5):
        return SubmitOutcome("skipped:not_due", retry_at=submission.next_attempt_at)
    if (
        submission.message == BureauMessage.OBJECTION_OUTCOME
        and BureauSubmission.objects.filter(
            correction_id=submission.correction_id,
            message=BureauMessage.OBJECTION_MARK,
            status__in=[BureauStatus.PENDING, BureauStatus.SENDING],
        ).exists()
    ):
        submission.next_attempt_at = now + OUTCOME_WAIT
        save_with_history(
            submission,
            actor=actor,
            reason="waiting for the objection mark to be sent",
            update_fields=["next_attempt_at"],
        )
        return SubmitOutcome("skipped:mark_first", retry_at=submission.next_attempt_at)
    submission.status = BureauStatus.SENDING
    submission.attempts += 1
    submission.claimed_at = now
    save_with_history(
        submission,
        actor=actor,
        reason=f"sending, attempt {submission.attempts}",
        update_fields=["status", "attempts", "claimed_at"],
    )
    return submission


def submission_send(*, submission_id: int, actor: User | None = None) -> SubmitOutcome:
    """Send one submission if it is pending and due. Idempotent: a row being sent, sent,
    failed or unknown is left alone, so a task that runs twice sends once."""
    actor = actor or system_actor("credit-bureau")
    claimed = _claim(submission_id=submission_id, actor=actor)
    if isinstance(claimed, SubmitOutcome):
        return claimed
    receipt: BureauReceipt | None = None
    result, error = "acknowledged", ""
    try:
        receipt = bureau_backend().submit(message=claimed.payload, reference=claimed.our_reference)
    except BureauOutcomeUnknown as exc:
        result, error = "unknown", str(exc)
    except BureauRefused as exc:
        result, error = "failed", str(exc)
    except BureauNotSent as exc:
        result, error = "retry", str(exc)
    except Exception as exc:  # anything else raised before an answer: not sent
        result, error = "retry", f"{type(exc).__name__}: {exc}"
    if error:
        logger.warning("bureau submission %s attempt %s: %s", claimed.pk, claimed.attempts, error)
    return _record(
        submission_id=claimed.pk, actor=actor, result=result, receipt=receipt, error=error[:2000]
    )


@transaction.atomic
def _record(
    *,
    submission_id: int,
    actor: User,
    result: str,
    receipt: BureauReceipt | None,
    error: str,
) -> SubmitOutcome:
    correction_id = (
        BureauSubmission.objects.filter(pk=submission_id).values_list("correction_id", flat=True)
    ).get()
    correction = CreditReportCorrection.objects.select_for_update(no_key=True).get(pk=correction_id)
    submission = BureauSubmission.objects.select_for_update(no_key=True).get(pk=submission_id)
    # The sweep may have given up on it meanwhile (`unknown`): an answer still settles that.
    if submission.status not in (BureauStatus.SENDING, BureauStatus.UNKNOWN):
        logger.error(
            "bureau submission %s was %s when its attempt ended", submission.pk, submission.status
        )
        return SubmitOutcome(f"skipped:{submission.status}")
    fields = ["status", "claimed_at", "last_error"]
    sent_at = submission.claimed_at
    submission.claimed_at = None
    submission.last_error = error
    if result == "acknowledged" and receipt is not None:
        submission.status = BureauStatus.ACKNOWLEDGED
        submission.sent_at = sent_at or timezone.now()
        submission.acknowledged_at = receipt.acknowledged_at
        submission.bureau_reference = receipt.reference
        fields += ["sent_at", "acknowledged_at", "bureau_reference"]
        save_with_history(
            submission,
            actor=actor,
            reason=f"acknowledged by the bureau ({receipt.reference})",
            update_fields=fields,
        )
        _correction_advance(correction, submission, actor=actor)
        return SubmitOutcome("acknowledged")
    if result == "retry" and submission.attempts < settings.CREDIT_BUREAU_MAX_ATTEMPTS:
        submission.status = BureauStatus.PENDING
        submission.next_attempt_at = timezone.now() + retry_delay(submission.attempts)
        fields.append("next_attempt_at")
        save_with_history(submission, actor=actor, reason="retry scheduled", update_fields=fields)
        return SubmitOutcome("retry", retry_at=submission.next_attempt_at)
    status = BureauStatus.UNKNOWN if result == "unknown" else BureauStatus.FAILED
    if result == "unknown":
        submission.sent_at = sent_at
        fields.append("sent_at")
    _give_up(
        submission,
        status=status,
        actor=actor,
        reason=f"{status} after {submission.attempts} attempts",
        fields=fields,
    )
    return SubmitOutcome(str(status))


def _give_up(
    submission: BureauSubmission, *, status: str, actor: User, reason: str, fields: list[str]
) -> None:
    """A locked submission ends `failed` or `unknown`; managers are told once."""
    submission.status = status
    save_with_history(submission, actor=actor, reason=reason, update_fields=list(set(fields)))
    notice_enqueue_staff(
        event=STAFF_PROBLEM_EVENT,
        context={
            "submission": submission.our_reference,
            "message": str(submission.get_message_display()),
            "status": str(submission.get_status_display()),
            "origin": submission.correction.origin,
            "error": submission.last_error,
        },
        actor=actor,
        role=MANAGER,
        obj=submission,
        key=f"{status}:{submission.attempts}",
    )


def _correction_advance(
    correction: CreditReportCorrection, submission: BureauSubmission, *, actor: User
) -> None:
    """The bureau acknowledged `submission`: the objection or correction moves on."""
    at = submission.acknowledged_at
    if submission.message == BureauMessage.OBJECTION_MARK:
        if correction.status != CorrectionStatus.OPEN:
            return
        correction.status = CorrectionStatus.SENT
        save_with_history(
            correction,
            actor=actor,
            reason=f"objection mark acknowledged by the bureau ({submission.bureau_reference})",
            update_fields=["status"],
        )
        return
    if correction.status not in (CorrectionStatus.OPEN, CorrectionStatus.SENT):
        return
    withdrawn = submission.outcome == ObjectionOutcome.WITHDRAWN
    correction.status = CorrectionStatus.WITHDRAWN if withdrawn else CorrectionStatus.SETTLED
    correction.settled_at = at
    save_with_history(
        correction,
        actor=actor,
        reason=f"{submission.get_message_display()} acknowledged by the bureau "
        f"({submission.bureau_reference})",
        update_fields=["status", "settled_at"],
    )


# --- Sweep and staff resend ------------------------------------------------------------------------


def bureau_sweep(*, now: datetime | None = None, limit: int = 1000) -> dict[str, int]:
    """Give up on rows `sending` past the lease (`unknown`), and publish pending rows whose
    time has come (past a grace period: rows just published on commit are not published
    twice)."""
    now = now or timezone.now()
    actor = system_actor("credit-bureau-sweep")
    stale = 0
    stale_ids = list(
        BureauSubmission.objects.filter(
            status=BureauStatus.SENDING,
            claimed_at__lt=now - settings.CREDIT_BUREAU_SENDING_LEASE,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in stale_ids:
        with transaction.atomic():
            submission = (
                BureauSubmission.objects.select_for_update(skip_locked=True)
                .select_related("correction")
                .filter(pk=pk, status=BureauStatus.SENDING)
                .first()
            )
            if submission is None:
                continue
            submission.sent_at = submission.claimed_at
            submission.claimed_at = None
            submission.last_error = LOST_WORKER_ERROR
            _give_up(
                submission,
                status=BureauStatus.UNKNOWN,
                actor=actor,
                reason="sending lease expired",
                fields=["status", "sent_at", "claimed_at", "last_error"],
            )
            stale += 1
    due_ids = list(
        BureauSubmission.objects.filter(
            status=BureauStatus.PENDING,
            next_attempt_at__lte=now - settings.CREDIT_BUREAU_SWEEP_GRACE,
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    published = submissions_publish(due_ids) if due_ids else 0
    return {"due": len(due_ids), "published": published, "unknown": stale}


@transaction.atomic
def submission_resend(
    *, submission_id: int, actor: User, reason: str, confirm_duplicate: bool = False
) -> BureauSubmission:
    """Staff send a `failed` or `unknown` submission again (same reference, so a bureau that
    has it drops the duplicate). An `unknown` one needs `confirm_duplicate`: the bureau may
    already have it."""
    if not (reason or "").strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    submission = BureauSubmission.objects.select_for_update(no_key=True).get(pk=submission_id)
    if submission.status not in (BureauStatus.FAILED, BureauStatus.UNKNOWN):
        raise ApplicationError(
            _("Only a failed or unknown submission can be sent again."), code="invalid_state"
        )
    if submission.status == BureauStatus.UNKNOWN and not confirm_duplicate:
        raise ApplicationError(
            _("The bureau may already have this message: confirm that it may be sent twice."),
            code="duplicate_risk",
            fields={"confirm_duplicate": [_("Confirm the risk of a duplicate.")]},
        )
    submission.status = BureauStatus.PENDING
    submission.next_attempt_at = timezone.now()
    save_with_history(
        submission, actor=actor, reason=reason, update_fields=["status", "next_attempt_at"]
    )
    transaction.on_commit(partial(submissions_publish, [submission.pk]))
    return submission


def bureau_state(correction: CreditReportCorrection) -> list[BureauSubmission]:
    """The submissions of one objection or correction, oldest first (for the case page)."""
    return list(correction.bureau_submissions.order_by("pk"))


__all__ = [
    "BUREAU_SUBMIT_TASK",
    "SubmitOutcome",
    "bureau_state",
    "bureau_sweep",
    "retry_delay",
    "submission_cancel",
    "submission_enqueue",
    "submission_resend",
    "submission_send",
    "submissions_for_update",
    "submissions_publish",
]
