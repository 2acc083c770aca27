"""Appeals against a closure: filed by the customer within 30 days of the closure notice (with an
optional PDF, JPEG or PNG), taken up and decided within 15 days by a manager who took no part in
the closure. Upheld reverses the closure exactly (accounts' `account_lending_restore` from the
snapshot taken when it took effect), overrules its risk signals and opens a credit-bureau
correction when it was reported."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import CreditAccount, User
from accounts.services import (
    AccountSnapshot,
    account_lending_restore,
    correction_open,
    risk_signals_overrule,
)
from core.audit import save_with_history
from core.clock import add_calendar_days
from core.errors import ApplicationError
from core.stepup import stepup_require
from core.uploads import EVIDENCE_MAX_BYTES, EVIDENCE_TYPES, upload_inspect
from notices.services import notice_enqueue

from .. import events, locks, selectors
from ..enums import (
    APPEAL_TRANSITIONS,
    APPEALABLE_STATUSES,
    AppealStatus,
    ClosureReason,
    ClosureStatus,
)
from ..models import Appeal, ClosureRequest
from .common import closure_move, permission_require, unfreeze_if_we_froze

APPEAL_DECISION_DAYS = 15
ATTACHMENT_MAX_BYTES = EVIDENCE_MAX_BYTES
ATTACHMENT_TYPES = EVIDENCE_TYPES
_DECISION_NOTICES = {
    AppealStatus.UPHELD: "appeal.upheld",
    AppealStatus.DISMISSED: "appeal.dismissed",
}


def _reference() -> str:
    return f"AP{timezone.now():%Y%m%d}{secrets.token_hex(4).upper()}"


def _appeal_link(appeal: Appeal) -> str:
    return f"{settings.PORTAL_BASE_URL}/portal/appeals/{appeal.reference}/"


def attachment_check(upload: UploadedFile) -> str:
    """The attachment's type from its bytes (not its name): PDF, JPEG or PNG; 5 MB at most; a
    PDF without active content (scripts, actions, embedded files: core/uploads.py)."""
    mime, problem = upload_inspect(upload)
    if problem == "too_large":
        raise ApplicationError(
            _("The attachment is larger than 5 MB."),
            code="too_large",
            status=413,
            fields={"attachment": [_("At most 5 MB.")]},
        )
    if problem == "type":
        raise ApplicationError(
            _("The attachment must be a PDF, JPEG or PNG file."),
            code="invalid",
            status=400,
            fields={"attachment": [_("Only PDF, JPEG or PNG files.")]},
        )
    if problem == "active":
        message = _(
            "This PDF contains scripts, automatic actions, embedded files or encryption. "
            "Please send a plain PDF (print it to PDF again), or a JPEG or PNG."
        )
        raise ApplicationError(
            message, code="invalid", status=400, fields={"attachment": [message]}
        )
    return mime


def _appealable_check(closure: ClosureRequest, *, now: datetime) -> None:
    if closure.reason == ClosureReason.CUSTOMER_REQUEST or closure.notice_sent_at is None:
        raise ApplicationError(_("This closure cannot be appealed."), code="not_appealable")
    if closure.status not in APPEALABLE_STATUSES:
        raise ApplicationError(
            _("Only a closure that was notified to you can be appealed."), code="not_appealable"
        )
    deadline = selectors.closure_appeal_deadline(closure)
    if deadline is None or now > deadline:
        raise ApplicationError(
            _("The 30 days for an appeal have passed."), code="appeal_window_closed"
        )
    if Appeal.objects.filter(closure=closure).exists():
        raise ApplicationError(
            _("This closure has already been appealed."), code="already_appealed"
        )


def _appeal_save_new(appeal: Appeal, *, actor: User, attachment: UploadedFile | None) -> None:
    if attachment:
        appeal.attachment.save("upload", attachment, save=False)
    try:
        with transaction.atomic():
            save_with_history(appeal, actor=actor, reason="appeal filed")
    except IntegrityError as exc:  # the one-to-one: a concurrent appeal won
        raise ApplicationError(
            _("This closure has already been appealed."), code="already_appealed"
        ) from exc


@transaction.atomic
def appeal_file(
    *,
    actor: User,
    closure_id: int,
    grounds: str,
    attachment: UploadedFile | None = None,
    now: datetime | None = None,
) -> Appeal:
    """The customer appeals a closing or closed account within 30 days of the closure notice."""
    now = now or timezone.now()
    closure = selectors.closure_for_user(user=actor, closure_id=closure_id)
    if not (grounds or "").strip():
        raise ApplicationError(
            _("Tell us why the closure should be reversed."),
            code="invalid",
            status=400,
            fields={"grounds": [_("This field is required.")]},
        )
    mime = attachment_check(attachment) if attachment else ""
    account, closure = locks.account_and_closure_for_update(closure_id=closure.pk)
    _appealable_check(closure, now=now)
    appeal = Appeal(
        reference=_reference(),
        closure=closure,
        filed_by=actor,
        grounds=grounds.strip(),
        filed_at=now,
        due_at=add_calendar_days(now, APPEAL_DECISION_DAYS),
        attachment_content_type=mime,
        attachment_name=(attachment.name or "")[:200] if attachment else "",
    )
    _appeal_save_new(appeal, actor=actor, attachment=attachment)
    events.appeal_filed_event(closure=closure, appeal=appeal, actor=actor, at=now)
    notice_enqueue(
        event="appeal.received",
        recipient=actor,
        context={
            "reference": appeal.reference,
            "due_at": appeal.due_at,
            "account": account.number_masked,
            "appeal_link": _appeal_link(appeal),
        },
        actor=actor,
        obj=appeal,
    )
    return appeal


def _no_stake_require(actor: User, closure: ClosureRequest) -> None:
    permission_require(actor, "closures.decide_appeal")
    stake = {closure.proposed_by_id, closure.approved_by_id}
    stake |= selectors.closure_staff_with_stake(account_id=closure.account_id)
    if actor.pk in stake:
        raise ApplicationError(
            _("You took part in this closure: another manager must decide the appeal."),
            code="conflict_of_interest",
            status=403,
        )


def _appeal_move_check(appeal: Appeal, new_status: str) -> None:
    if new_status not in APPEAL_TRANSITIONS[appeal.status]:
        raise ApplicationError(
            _("The appeal is already %(status)s.") % {"status": appeal.get_status_display()},
            code="invalid_appeal_transition",
        )


@transaction.atomic
def appeal_take_up(
    *, actor: User, appeal_id: int, reason: str = "", now: datetime | None = None
) -> Appeal:
    _account, closure, appeal = locks.account_closure_and_appeal_for_update(appeal_id=appeal_id)
    _no_stake_require(actor, closure)
    _appeal_move_check(appeal, AppealStatus.UNDER_REVIEW)
    appeal.status = AppealStatus.UNDER_REVIEW
    appeal.reviewer = actor
    save_with_history(
        appeal, actor=actor, reason=reason or "taken up", update_fields=["status", "reviewer"]
    )
    events.appeal_taken_up_event(closure=closure, appeal=appeal, actor=actor, at=now)
    return appeal


def _decision_validate(*, outcome: str, decision_text: str) -> None:
    if outcome not in (AppealStatus.UPHELD, AppealStatus.DISMISSED):
        raise ApplicationError(
            _("Choose upheld or dismissed."),
            code="invalid",
            status=400,
            fields={"outcome": [_("Not a valid choice.")]},
        )
    if not (decision_text or "").strip():
        raise ApplicationError(
            _("Write the decision and its reasons for the customer."),
            code="invalid",
            status=400,
            fields={"decision_text": [_("This field is required.")]},
        )


@transaction.atomic
def appeal_decide(
    *,
    actor: User,
    appeal_id: int,
    outcome: str,
    decision_text: str,
    reason: str,
    now: datetime | None = None,
) -> Appeal:
    """A manager who took no part in the closure decides. `upheld` reverses the closure in this
    one transaction; `dismissed` sends the reasons and the outside routes."""
    now = now or timezone.now()
    _decision_validate(outcome=outcome, decision_text=decision_text)
    account, closure, appeal = locks.account_closure_and_appeal_for_update(appeal_id=appeal_id)
    _no_stake_require(actor, closure)
    if outcome == AppealStatus.UPHELD:
        stepup_require(actor=actor)  # reversing a closure is a step-up action
    _appeal_move_check(appeal, outcome)
    appeal.status = outcome
    appeal.decided_by = actor
    appeal.decided_at = now
    appeal.decision_text = decision_text.strip()
    save_with_history(
        appeal,
        actor=actor,
        reason=reason,
        update_fields=["status", "decided_by", "decided_at", "decision_text"],
    )
    context = {
        "reference": appeal.reference,
        "decision_text": appeal.decision_text,
        "account": account.number_masked,
        "hotline": getattr(settings, "REGULATOR_HOTLINE", "12378"),
        "appeal_link": _appeal_link(appeal),
    }
    if outcome == AppealStatus.UPHELD:
        _closure_reverse(closure, account, appeal=appeal, actor=actor, reason=reason, now=now)
        events.appeal_upheld_event(
            closure=closure, appeal=appeal, actor=actor, reason=reason, at=now
        )
        context["credit_limit"] = f"{account.credit_limit:.2f}"
    else:
        events.appeal_dismissed_event(
            closure=closure, appeal=appeal, actor=actor, reason=reason, at=now
        )
    notice_enqueue(
        event=_DECISION_NOTICES[outcome],
        recipient=appeal.filed_by,
        context=context,
        actor=actor,
        obj=appeal,
    )
    return appeal


def _closure_reverse(
    closure: ClosureRequest,
    account: CreditAccount,
    *,
    appeal: Appeal,
    actor: User,
    reason: str,
    now: datetime,
) -> None:
    """Undo the closure from the snapshot taken when it took effect (repayments made while
    closing are credited back to the available credit), overrule its risk signals, and correct
    what was reported to the credit bureau."""
    old = closure_move(closure, ClosureStatus.REVERSED)
    why = f"appeal {appeal.reference} upheld: {reason}"
    if old == ClosureStatus.APPROVED:
        # Upheld during the notice period: the account's lending was never ended; only a
        # freeze the closure put on it is lifted.
        unfreeze_if_we_froze(closure, account, actor=actor, reason=why)
    elif closure.pre_credit_limit is None:
        raise ApplicationError(
            _("The closure has no pre-closure snapshot to restore."), code="no_snapshot"
        )
    else:
        _lending_restore(closure, account, actor=actor, reason=why)
    closure.ended_at = now
    save_with_history(closure, actor=actor, reason=why, update_fields=["status", "ended_at"])
    events.closure_reversed_event(
        closure=closure, appeal=appeal, actor=actor, old_status=old, reason=why, at=now
    )
    signal_ids = list(closure.risk_signals.order_by("pk").values_list("pk", flat=True))
    risk_signals_overrule(signal_ids=signal_ids, actor=actor, reason=why)
    if closure.reported_to_bureau:
        correction_open(
            account=account,
            origin=f"appeal:{appeal.reference}",
            text=why,
            opened_at=now,
            actor=actor,
            reason=why,
        )


def _lending_restore(
    closure: ClosureRequest, account: CreditAccount, *, actor: User, reason: str
) -> None:
    why = reason
    account_lending_restore(
        account=account,
        snapshot=AccountSnapshot(
            status=closure.pre_status,
            credit_limit=closure.pre_credit_limit,
            available_credit=closure.pre_available_credit,
            outstanding_balance=closure.pre_outstanding_balance,
            closed_at=closure.pre_closed_at,
        ),
        actor=actor,
        reason=why,
    )
