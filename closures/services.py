"""Every write of the closures domain. Each transition is one transaction that locks its rows in
a fixed order (account, then closure, then appeal), checks the allowed-from state under the lock,
records who and why (history + ClosureEvent) and writes its notices in the same transaction."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.enums import (
    AccountStatus,
    CorrectionKind,
    RiskSignalStatus,
)
from accounts.models import CreditAccount, CreditReportCorrection, RiskSignal, User
from accounts.services import account_freeze, account_set_status
from core.audit import save_with_history
from core.clock import add_calendar_days
from core.errors import ApplicationError
from core.stepup import stepup_require
from notices.services import notice_enqueue

from . import selectors
from .enums import (
    APPEAL_TRANSITIONS,
    APPEALABLE_STATUSES,
    CLOSURE_TRANSITIONS,
    FREEZING_REASONS,
    OPEN_CLOSURE_STATUSES,
    REPORTED_REASONS,
    AppealStatus,
    ClosureEventKind,
    ClosureReason,
    ClosureSource,
    ClosureStatus,
    OtpChannel,
)
from .models import Appeal, ClosureEvent, ClosureRequest, CustomerOtpDevice

APPEAL_WINDOW_DAYS = 30
APPEAL_DECISION_DAYS = 15
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {"application/pdf", "image/jpeg", "image/png"}
ZERO = Decimal("0.00")


# --- Helpers -------------------------------------------------------------------------------------


def _event(
    closure: ClosureRequest,
    *,
    kind: str,
    actor: User,
    text: str = "",
    old: str = "",
    new: str = "",
) -> ClosureEvent:
    event = ClosureEvent(
        closure=closure, kind=kind, actor=actor, old_status=old, new_status=new, text=text
    )
    save_with_history(event, actor=actor, reason=text or kind)
    return event


def _move(closure: ClosureRequest, new_status: str) -> str:
    """Check the transition under the lock; returns the old status."""
    old = closure.status
    if new_status not in CLOSURE_TRANSITIONS[old]:
        raise ApplicationError(
            _("The closure cannot go from %(old)s to %(new)s.")
            % {"old": closure.get_status_display(), "new": ClosureStatus(new_status).label},
            code="invalid_closure_transition",
        )
    closure.status = new_status
    return old


def _require_perm(actor: User, perm: str) -> None:
    if getattr(actor, "is_system", False):
        return
    if not (actor.is_active and actor.is_staff and actor.has_perm(perm)):
        raise ApplicationError(
            _("You are not allowed to do this."), code="permission_denied", status=403
        )


def _lock_account_then_closure(closure_id: int) -> tuple[CreditAccount, ClosureRequest]:
    """Fixed lock order everywhere: the account first, then the closure."""
    account_id = (
        ClosureRequest.objects.filter(pk=closure_id).values_list("account_id", flat=True).first()
    )
    if account_id is None:
        raise ApplicationError(_("No such closure."), code="not_found", status=404)
    account = account_selectors.account_for_update(account_id=account_id)
    closure = selectors.closure_for_update(closure_id=closure_id)
    return account, closure


def _is_owner(actor: User, account: CreditAccount) -> bool:
    return account.customer.user_id == actor.pk


def _closure_context(closure: ClosureRequest, account: CreditAccount) -> dict[str, Any]:
    return {
        "closure_id": closure.pk,
        "reason": closure.reason,
        "reason_label": ClosureReason(closure.reason).label,
        "explanation": closure.explanation,
        "account": account.number_masked,
        "outstanding_balance": f"{account.outstanding_balance:.2f}",
        "effective_at": closure.effective_at,
        "appeal_deadline": closure.appeal_deadline,
        "appeal_link": closure.appeal_link,
        "portal_link": f"{settings.PORTAL_BASE_URL}/portal/accounts/{account.pk}/",
        "reported": closure.reason in REPORTED_REASONS,
    }


def _notify_customer(
    closure: ClosureRequest, account: CreditAccount, event: str, *, actor: User
) -> None:
    """A notice about this closure to the account's customer, with the closure's context."""
    notice_enqueue(
        event=event,
        recipient=account.customer.user,
        context=_closure_context(closure, account),
        actor=actor,
        obj=closure,
    )


def _unfreeze_if_we_froze(
    closure: ClosureRequest, account: CreditAccount, *, actor: User, reason: str
) -> bool:
    if closure.froze_account and account.status == AccountStatus.FROZEN:
        account_set_status(
            account=account, new_status=AccountStatus.ACTIVE, actor=actor, reason=reason
        )
        return True
    return False


def _end_unclosed(
    closure: ClosureRequest,
    account: CreditAccount,
    *,
    status: str,
    kind: str,
    actor: User,
    reason: str,
) -> tuple[str, bool]:
    """Reject or withdraw: the closure ends without taking effect, decided by `actor`, and a
    freeze it put on the account is lifted. Returns the old status and whether it lifted one."""
    old = _move(closure, status)
    closure.decided_by = actor
    closure.ended_at = timezone.now()
    save_with_history(
        closure, actor=actor, reason=reason, update_fields=["status", "decided_by", "ended_at"]
    )
    _event(closure, kind=kind, actor=actor, text=reason, old=old, new=closure.status)
    lifted = _unfreeze_if_we_froze(closure, account, actor=actor, reason=reason)
    return old, lifted


def _save_new_closure(closure: ClosureRequest, *, actor: User, reason: str) -> None:
    try:
        with transaction.atomic():
            save_with_history(closure, actor=actor, reason=reason)
    except IntegrityError as exc:
        # The partial unique index: another open closure won a race for this account.
        raise ApplicationError(
            _("This account already has a closure in progress."), code="closure_exists"
        ) from exc


def _refuse_if_open(account: CreditAccount) -> None:
    if account.status not in (AccountStatus.ACTIVE, AccountStatus.FROZEN):
        raise ApplicationError(
            _("The account is %(status)s and cannot be closed.")
            % {"status": account.get_status_display()},
            code="account_not_closable",
        )
    if selectors.closure_open_for_account(account_id=account.pk) is not None:
        raise ApplicationError(
            _("This account already has a closure in progress."), code="closure_exists"
        )


# --- Customer closure with a one-time code -------------------------------------------------------


def _otp_device(user: User, channel: str) -> CustomerOtpDevice:
    device, _created = CustomerOtpDevice.objects.select_for_update().get_or_create(
        user=user, defaults={"name": "closure", "channel": channel, "confirmed": True}
    )
    if device.channel != channel:
        device.channel = channel
        device.save(update_fields=["channel"])
    return device


def _code_send(closure: ClosureRequest, *, actor: User, channel: str) -> None:
    device = _otp_device(actor, channel)
    allowed, _details = device.generate_is_allowed()
    if not allowed:
        raise ApplicationError(
            _("A code was sent a moment ago. Please wait a minute before asking for another."),
            code="throttled",
            status=429,
        )
    code = device.code_issue(purpose=f"closure:{closure.pk}")
    notice_enqueue(
        event="closure.code",
        recipient=actor,
        context={
            "code": code,
            "minutes": getattr(settings, "CLOSURE_OTP_VALIDITY", 300) // 60,
            "account": closure.account.number_masked,
        },
        actor=actor,
        obj=closure,
        channels=[channel],
        sensitive=True,
        key=str(device.sent_count),
    )
    _event(
        closure,
        kind=ClosureEventKind.CODE_SENT,
        actor=actor,
        text=OtpChannel(channel).label,
    )


@transaction.atomic
def closure_request_by_customer(
    *, actor: User, account_id: int, channel: str = OtpChannel.SMS, reason: str = ""
) -> ClosureRequest:
    """The customer asks to close their account; a one-time code goes out by SMS or email."""
    account = account_selectors.account_for_user(user=actor, account_id=account_id)
    account = account_selectors.account_for_update(account_id=account.pk)
    if channel not in OtpChannel.values:
        raise ApplicationError(
            _("Choose how to receive the code."),
            code="invalid",
            status=400,
            fields={"channel": [_("Not a valid choice.")]},
        )
    _refuse_if_open(account)
    why = reason or "customer asked to close the account"
    closure = ClosureRequest(
        account=account,
        reason=ClosureReason.CUSTOMER_REQUEST,
        status=ClosureStatus.AWAITING_CONFIRMATION,
        source=ClosureSource.CUSTOMER,
        proposed_by=actor,
        notice_days=settings.CLOSURE_NOTICE_DAYS.get(ClosureReason.CUSTOMER_REQUEST, 0),
        pre_status=account.status,
    )
    _save_new_closure(closure, actor=actor, reason=why)
    _event(
        closure,
        kind=ClosureEventKind.REQUESTED,
        actor=actor,
        text=why,
        new=closure.status,
    )
    _code_send(closure, actor=actor, channel=channel)
    return closure


@transaction.atomic
def closure_code_resend(
    *, actor: User, closure_id: int, channel: str = OtpChannel.SMS
) -> ClosureRequest:
    closure = selectors.closure_for_user(user=actor, closure_id=closure_id)
    closure = selectors.closure_for_update(closure_id=closure.pk)
    if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
        raise ApplicationError(
            _("This closure request no longer needs a code."), code="invalid_closure_transition"
        )
    _code_send(closure, actor=actor, channel=channel)
    return closure


_CODE_ERRORS = {
    "missing": ("otp_missing", "No code is waiting for this request: ask for a new one."),
    "expired": ("otp_expired", "The code has expired: ask for a new one."),
    "locked": ("otp_locked", "Too many wrong codes: ask for a new one."),
    "wrong": ("otp_invalid", "The code is not correct."),
}


def closure_confirm(*, actor: User, closure_id: int, otp: str, now: datetime | None = None):
    """The customer enters the code. A wrong try is counted (and committed) before the error is
    raised, so the attempt limit holds; a right code is consumed and cannot be used again."""
    closure = selectors.closure_for_user(user=actor, closure_id=closure_id)
    with transaction.atomic():
        device = CustomerOtpDevice.objects.select_for_update().filter(user=actor).first()
        result = (
            "missing"
            if device is None
            else device.code_check(purpose=f"closure:{closure.pk}", code=otp)
        )
    if result != "ok":
        code, message = _CODE_ERRORS[result]
        raise ApplicationError(_(message), code=code, status=400, fields={"otp": [_(message)]})
    return _closure_confirmed(actor=actor, closure_id=closure.pk, now=now)


@transaction.atomic
def _closure_confirmed(*, actor: User, closure_id: int, now: datetime | None) -> ClosureRequest:
    now = now or timezone.now()
    account, closure = _lock_account_then_closure(closure_id)
    old = _move(closure, ClosureStatus.APPROVED)
    closure.confirmed_at = now
    closure.approved_at = now
    closure.effective_at = now + timedelta(days=closure.notice_days)
    save_with_history(
        closure,
        actor=actor,
        reason="confirmed with a one-time code",
        update_fields=["status", "confirmed_at", "approved_at", "effective_at"],
    )
    _event(
        closure,
        kind=ClosureEventKind.CONFIRMED,
        actor=actor,
        text="confirmed with a one-time code",
        old=old,
        new=closure.status,
    )
    _notify_customer(closure, account, "closure.requested", actor=actor)
    return closure


# --- Proposals by staff and the risk engine ------------------------------------------------------


def _evidence(signals: list[RiskSignal]) -> list[dict[str, Any]]:
    return [
        {
            "id": s.pk,
            "kind": s.kind,
            "severity": s.severity,
            "source": s.source,
            "status": s.status,
            "details": s.details,
            "created_at": s.created_at.isoformat(),
        }
        for s in signals
    ]


@transaction.atomic
def closure_propose(
    *,
    actor: User,
    reason: str,
    account_id: int,
    closure_reason: str,
    explanation: str,
    source: str = ClosureSource.AGENT,
    risk_signal_ids: list[int] | None = None,
    internal_note: str = "",
    _checked: bool = False,
) -> ClosureRequest:
    """A risk engine, risk officer or agent proposes a closure for review. The evidence is the
    account's open risk signals (or the ones named), snapshotted now."""
    if not _checked:
        _require_perm(actor, "closures.propose_closure")
    if closure_reason not in ClosureReason.values or closure_reason == (
        ClosureReason.CUSTOMER_REQUEST
    ):
        raise ApplicationError(
            _("Choose the reason for the closure."),
            code="invalid",
            status=400,
            fields={"closure_reason": [_("Not a valid choice.")]},
        )
    if not (explanation or "").strip():
        raise ApplicationError(
            _("Explain the closure to the customer in plain words."),
            code="invalid",
            status=400,
            fields={"explanation": [_("This field is required.")]},
        )
    account = account_selectors.account_for_update(account_id=account_id)
    _refuse_if_open(account)
    signals_qs = RiskSignal.objects.filter(account=account, status=RiskSignalStatus.OPEN)
    if risk_signal_ids:
        signals_qs = RiskSignal.objects.filter(account=account, pk__in=risk_signal_ids)
    signals = list(signals_qs.order_by("pk"))
    closure = ClosureRequest(
        account=account,
        reason=closure_reason,
        status=ClosureStatus.PENDING_REVIEW,
        source=source,
        proposed_by=actor,
        explanation=explanation.strip(),
        internal_note=internal_note,
        evidence=_evidence(signals),
        notice_days=settings.CLOSURE_NOTICE_DAYS.get(closure_reason, 0),
        pre_status=account.status,
    )
    _save_new_closure(closure, actor=actor, reason=reason)
    if signals:
        closure.risk_signals.add(*signals)
    _event(closure, kind=ClosureEventKind.PROPOSED, actor=actor, text=reason, new=closure.status)
    if closure_reason in FREEZING_REASONS and account.status == AccountStatus.ACTIVE:
        account_freeze(actor=actor, reason=reason, account_id=account.pk)
        account.refresh_from_db()
        closure.froze_account = True
        save_with_history(closure, actor=actor, reason=reason, update_fields=["froze_account"])
        _event(closure, kind=ClosureEventKind.FROZEN, actor=actor, text=reason)
        _notify_customer(closure, account, "closure.frozen", actor=actor)
    from .anomaly import alerts_on_proposal

    alerts_on_proposal(closure=closure, actor=actor)
    return closure


# Risk signals that propose a closure by themselves (CONTRACT.md: the risk engine's API).
# suspected_fraud / security_breach at high or critical severity -> suspected_fraud /
# security_risk (both freeze the account at once); overdue at or over the threshold (the
# signal's details.overdue_count or the account's own count) -> overdue. Everything else is
# only recorded for a person to act on.
_SIGNAL_CLOSURES = {
    "suspected_fraud": ClosureReason.SUSPECTED_FRAUD,
    "security_breach": ClosureReason.SECURITY_RISK,
}


def _closure_reason_for_signal(signal: RiskSignal, account: CreditAccount) -> str | None:
    if signal.kind in _SIGNAL_CLOSURES and signal.severity in ("high", "critical"):
        return _SIGNAL_CLOSURES[signal.kind]
    if signal.kind == "overdue":
        try:
            count = int((signal.details or {}).get("overdue_count", 0))
        except (TypeError, ValueError):
            count = 0
        if max(count, account.overdue_count) >= settings.OVERDUE_CLOSURE_THRESHOLD:
            return ClosureReason.OVERDUE
    return None


_SIGNAL_EXPLANATIONS = {
    ClosureReason.SUSPECTED_FRAUD: (
        "Our risk controls found signs that your account may be used fraudulently. To protect "
        "you, the account is on hold while we review it."
    ),
    ClosureReason.SECURITY_RISK: (
        "Our risk controls found signs that someone else may have accessed your account. To "
        "protect you, the account is on hold while we review it."
    ),
    ClosureReason.OVERDUE: (
        "Payments on this account have been overdue several times. Under our risk rules an "
        "account with repeated overdue payments is closed. The amount you owe stays payable on "
        "its usual schedule."
    ),
}


@transaction.atomic
def risk_signal_ingest(
    *, actor: User, account_id: int, kind: str, severity: str, details: dict | None = None
) -> tuple[RiskSignal, ClosureRequest | None]:
    """The risk engine posts a signal; the serious ones propose the matching closure (for a
    reviewer to approve) unless the account already has one open or is not open."""
    from accounts.enums import RiskSignalSource
    from accounts.services import risk_signal_raise

    signal = risk_signal_raise(
        actor=actor,
        reason="risk engine signal",
        account_id=account_id,
        kind=kind,
        severity=severity,
        source=RiskSignalSource.RISK_ENGINE,
        details=details or {},
    )
    account = account_selectors.account_for_update(account_id=account_id)
    closure_reason = _closure_reason_for_signal(signal, account)
    if closure_reason is None or account.status not in (AccountStatus.ACTIVE, AccountStatus.FROZEN):
        return signal, None
    if selectors.closure_open_for_account(account_id=account.pk) is not None:
        return signal, None
    closure = closure_propose(
        actor=actor,
        reason=f"risk engine signal #{signal.pk}",
        account_id=account.pk,
        closure_reason=closure_reason,
        explanation=_(_SIGNAL_EXPLANATIONS[closure_reason]),
        source=ClosureSource.RISK_ENGINE,
        _checked=True,  # holding the risk-signal permission is the risk engine's authority
    )
    return signal, closure


@transaction.atomic
def closure_approve(
    *, actor: User, closure_id: int, reason: str, now: datetime | None = None
) -> ClosureRequest:
    """Four eyes: a reviewer who is not the proposer, with a fresh one-time code. The closure
    notice (why, what it means, how to appeal and by when) goes out now."""
    _require_perm(actor, "closures.approve_closure")
    stepup_require(actor=actor)
    now = now or timezone.now()
    account, closure = _lock_account_then_closure(closure_id)
    if closure.proposed_by_id == actor.pk:
        raise ApplicationError(
            _("You proposed this closure: another reviewer must approve it."),
            code="maker_checker",
            status=403,
        )
    old = _move(closure, ClosureStatus.APPROVED)
    closure.approved_by = actor
    closure.approved_at = now
    closure.effective_at = now + timedelta(days=closure.notice_days)
    closure.notice_sent_at = now
    closure.appeal_deadline = add_calendar_days(now, APPEAL_WINDOW_DAYS)
    save_with_history(
        closure,
        actor=actor,
        reason=reason,
        update_fields=[
            "status",
            "approved_by",
            "approved_at",
            "effective_at",
            "notice_sent_at",
            "appeal_deadline",
        ],
    )
    _event(
        closure,
        kind=ClosureEventKind.APPROVED,
        actor=actor,
        text=reason,
        old=old,
        new=closure.status,
    )
    _notify_customer(closure, account, "closure.notice", actor=actor)
    _event(closure, kind=ClosureEventKind.NOTICE_SENT, actor=actor, text="closure.notice")
    return closure


@transaction.atomic
def closure_reject(*, actor: User, closure_id: int, reason: str) -> ClosureRequest:
    _require_perm(actor, "closures.approve_closure")
    account, closure = _lock_account_then_closure(closure_id)
    if closure.proposed_by_id == actor.pk:
        raise ApplicationError(
            _("You proposed this closure: withdraw it instead."),
            code="maker_checker",
            status=403,
        )
    _old, lifted = _end_unclosed(
        closure,
        account,
        status=ClosureStatus.REJECTED,
        kind=ClosureEventKind.REJECTED,
        actor=actor,
        reason=reason,
    )
    if lifted:
        _notify_customer(closure, account, "closure.hold_lifted", actor=actor)
    return closure


@transaction.atomic
def closure_withdraw(*, actor: User, closure_id: int, reason: str) -> ClosureRequest:
    """The customer withdraws their own request until it takes effect; a staff proposer
    withdraws a proposal still pending review."""
    account, closure = _lock_account_then_closure(closure_id)
    if actor.is_staff or getattr(actor, "is_system", False):
        if closure.proposed_by_id != actor.pk:
            raise ApplicationError(
                _("Only the proposer may withdraw a proposal."),
                code="permission_denied",
                status=403,
            )
        if closure.status != ClosureStatus.PENDING_REVIEW:
            raise ApplicationError(
                _("Only a proposal still pending review can be withdrawn."),
                code="invalid_closure_transition",
            )
    else:
        if not _is_owner(actor, account):
            raise ApplicationError(_("No such closure."), code="not_found", status=404)
        if closure.reason != ClosureReason.CUSTOMER_REQUEST:
            raise ApplicationError(
                _("This closure was not requested by you; you may appeal it instead."),
                code="invalid_closure_transition",
            )
    old, lifted = _end_unclosed(
        closure,
        account,
        status=ClosureStatus.WITHDRAWN,
        kind=ClosureEventKind.WITHDRAWN,
        actor=actor,
        reason=reason,
    )
    if closure.reason == ClosureReason.CUSTOMER_REQUEST and old == ClosureStatus.APPROVED:
        _notify_customer(closure, account, "closure.withdrawn", actor=actor)
    elif lifted:
        _notify_customer(closure, account, "closure.hold_lifted", actor=actor)
    return closure


# --- Taking effect, settling ---------------------------------------------------------------------


def _close_account(closure: ClosureRequest, account: CreditAccount, *, actor: User, now) -> None:
    closure.closed_at = now
    account.closed_at = now
    account_set_status(
        account=account,
        new_status=AccountStatus.CLOSED,
        actor=actor,
        reason=f"closure #{closure.pk}",
    )
    _event(closure, kind=ClosureEventKind.CLOSED, actor=actor, text=f"closure #{closure.pk}")
    _notify_customer(closure, account, "closure.closed", actor=actor)


@transaction.atomic
def closure_take_effect(*, actor: User, closure_id: int, now: datetime | None = None) -> str:
    """An approved closure whose date has come: `closing` while money is owed (no new loans, the
    balance stays payable on its schedule), `closed` when nothing is owed. The account's limit
    goes to zero; what it was is kept on the closure for an exact reversal."""
    now = now or timezone.now()
    account, closure = _lock_account_then_closure(closure_id)
    if closure.status != ClosureStatus.APPROVED or (
        closure.effective_at is not None and closure.effective_at > now
    ):
        return closure.status  # withdrawn or not due any more: nothing to do
    new_status = ClosureStatus.CLOSING if account.outstanding_balance > 0 else ClosureStatus.CLOSED
    old = _move(closure, new_status)
    closure.pre_status = closure.pre_status or account.status
    closure.pre_credit_limit = account.credit_limit
    closure.pre_available_credit = account.available_credit
    closure.pre_outstanding_balance = account.outstanding_balance
    closure.pre_closed_at = account.closed_at
    closure.took_effect_at = now
    closure.reported_to_bureau = closure.reason in REPORTED_REASONS
    why = f"closure #{closure.pk} took effect"
    account.credit_limit = ZERO
    account.available_credit = ZERO
    if new_status == ClosureStatus.CLOSING:
        account_set_status(
            account=account,
            new_status=AccountStatus.CLOSING,
            actor=actor,
            reason=why,
            extra_fields=["credit_limit", "available_credit"],
        )
    else:
        closure.closed_at = now
        account.closed_at = now
        account_set_status(
            account=account,
            new_status=AccountStatus.CLOSED,
            actor=actor,
            reason=why,
            extra_fields=["credit_limit", "available_credit"],
        )
    save_with_history(
        closure,
        actor=actor,
        reason=why,
        update_fields=[
            "status",
            "pre_status",
            "pre_credit_limit",
            "pre_available_credit",
            "pre_outstanding_balance",
            "pre_closed_at",
            "took_effect_at",
            "closed_at",
            "reported_to_bureau",
        ],
    )
    _event(
        closure,
        kind=ClosureEventKind.TOOK_EFFECT,
        actor=actor,
        text=why,
        old=old,
        new=closure.status,
    )
    if new_status == ClosureStatus.CLOSED:
        _event(closure, kind=ClosureEventKind.CLOSED, actor=actor, text=why)
        _notify_customer(closure, account, "closure.closed", actor=actor)
    return closure.status


def closures_take_effect(*, actor: User, now: datetime | None = None, limit: int = 500) -> int:
    """The periodic part: each due closure in its own short transaction."""
    now = now or timezone.now()
    ids = list(selectors.closures_due_for_effect(now).values_list("pk", flat=True)[:limit])
    done = 0
    for closure_id in ids:
        if closure_take_effect(actor=actor, closure_id=closure_id, now=now) in (
            ClosureStatus.CLOSING,
            ClosureStatus.CLOSED,
        ):
            done += 1
    return done


def closure_settle_on_zero_balance(*, account: CreditAccount, actor: User) -> None:
    """Called by accounts.services.repayment_record (through accounts.hooks), under the account's lock, when an account in
    `closing` reaches a zero balance: the closure completes and the account is closed.
    Registered in accounts.hooks (closures/apps.py); any other account is left alone."""
    if account.status != AccountStatus.CLOSING:
        return
    closure = (
        ClosureRequest.objects.select_for_update()
        .filter(account_id=account.pk, status=ClosureStatus.CLOSING)
        .first()
    )
    now = timezone.now()
    if closure is None:
        # A closing account without its closure should not exist; close it anyway, the rule is
        # the account's.
        account.closed_at = now
        account_set_status(
            account=account,
            new_status=AccountStatus.CLOSED,
            actor=actor,
            reason="balance repaid while closing",
        )
        return
    old = _move(closure, ClosureStatus.CLOSED)
    closure.closed_at = now
    save_with_history(
        closure,
        actor=actor,
        reason="balance repaid while closing",
        update_fields=["status", "closed_at"],
    )
    _event(
        closure,
        kind=ClosureEventKind.TOOK_EFFECT,
        actor=actor,
        text="balance repaid while closing",
        old=old,
        new=closure.status,
    )
    _close_account(closure, account, actor=actor, now=now)


@transaction.atomic
def closures_expire_unconfirmed(*, actor: User, now: datetime | None = None) -> int:
    """Customer requests never confirmed within a day are withdrawn, so they do not block the
    account forever."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=24)
    ids = list(
        ClosureRequest.objects.filter(
            status=ClosureStatus.AWAITING_CONFIRMATION, created_at__lt=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for closure in ClosureRequest.objects.select_for_update().filter(pk__in=ids).order_by("pk"):
        if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
            continue
        old = _move(closure, ClosureStatus.WITHDRAWN)
        closure.ended_at = now
        save_with_history(
            closure, actor=actor, reason="not confirmed", update_fields=["status", "ended_at"]
        )
        _event(
            closure,
            kind=ClosureEventKind.WITHDRAWN,
            actor=actor,
            text="not confirmed within 24 hours",
            old=old,
            new=closure.status,
        )
    return len(ids)


# --- Appeals -------------------------------------------------------------------------------------


def _reference() -> str:
    return f"AP{timezone.now():%Y%m%d}{secrets.token_hex(4).upper()}"


def attachment_check(upload: UploadedFile) -> str:
    """The attachment's type from its bytes (not its name): PDF, JPEG or PNG; 5 MB at most."""
    if upload.size is not None and upload.size > ATTACHMENT_MAX_BYTES:
        raise ApplicationError(
            _("The attachment is larger than 5 MB."),
            code="too_large",
            status=413,
            fields={"attachment": [_("At most 5 MB.")]},
        )
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind else ""
    if mime not in ATTACHMENT_TYPES:
        raise ApplicationError(
            _("The attachment must be a PDF, JPEG or PNG file."),
            code="invalid",
            status=400,
            fields={"attachment": [_("Only PDF, JPEG or PNG files.")]},
        )
    return mime


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
    account, closure = _lock_account_then_closure(closure.pk)
    if closure.reason == ClosureReason.CUSTOMER_REQUEST or closure.notice_sent_at is None:
        raise ApplicationError(_("This closure cannot be appealed."), code="not_appealable")
    if closure.status not in APPEALABLE_STATUSES:
        raise ApplicationError(
            _("Only a closing or closed account can be appealed."), code="not_appealable"
        )
    if closure.appeal_deadline is None or now > closure.appeal_deadline:
        raise ApplicationError(
            _("The 30 days for an appeal have passed."), code="appeal_window_closed"
        )
    if Appeal.objects.filter(closure=closure).exists():
        raise ApplicationError(
            _("This closure has already been appealed."), code="already_appealed"
        )
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
    if attachment:
        appeal.attachment.save("upload", attachment, save=False)
    try:
        with transaction.atomic():
            save_with_history(appeal, actor=actor, reason="appeal filed")
    except IntegrityError as exc:
        raise ApplicationError(
            _("This closure has already been appealed."), code="already_appealed"
        ) from exc
    _event(closure, kind=ClosureEventKind.APPEAL_FILED, actor=actor, text=appeal.reference)
    notice_enqueue(
        event="appeal.received",
        recipient=actor,
        context={
            "reference": appeal.reference,
            "due_at": appeal.due_at,
            "account": account.number_masked,
            "appeal_link": f"{settings.PORTAL_BASE_URL}/portal/appeals/{appeal.reference}/",
        },
        actor=actor,
        obj=appeal,
    )
    return appeal


def _require_no_stake(actor: User, closure: ClosureRequest) -> None:
    _require_perm(actor, "closures.decide_appeal")
    if actor.pk in {closure.proposed_by_id, closure.approved_by_id}:
        raise ApplicationError(
            _("You took part in this closure: another manager must decide the appeal."),
            code="conflict_of_interest",
            status=403,
        )


@transaction.atomic
def appeal_take_up(*, actor: User, appeal_id: int, reason: str = "") -> Appeal:
    closure_id = Appeal.objects.filter(pk=appeal_id).values_list("closure_id", flat=True).first()
    if closure_id is None:
        raise ApplicationError(_("No such appeal."), code="not_found", status=404)
    _account, closure = _lock_account_then_closure(closure_id)
    appeal = selectors.appeal_for_update(appeal_id=appeal_id)
    _require_no_stake(actor, closure)
    if AppealStatus.UNDER_REVIEW not in APPEAL_TRANSITIONS[appeal.status]:
        raise ApplicationError(
            _("The appeal is already %(status)s.") % {"status": appeal.get_status_display()},
            code="invalid_appeal_transition",
        )
    appeal.status = AppealStatus.UNDER_REVIEW
    appeal.reviewer = actor
    save_with_history(
        appeal, actor=actor, reason=reason or "taken up", update_fields=["status", "reviewer"]
    )
    _event(closure, kind=ClosureEventKind.APPEAL_REVIEW, actor=actor, text=appeal.reference)
    return appeal


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
    closure_id = Appeal.objects.filter(pk=appeal_id).values_list("closure_id", flat=True).first()
    if closure_id is None:
        raise ApplicationError(_("No such appeal."), code="not_found", status=404)
    account, closure = _lock_account_then_closure(closure_id)
    appeal = selectors.appeal_for_update(appeal_id=appeal_id)
    _require_no_stake(actor, closure)
    if outcome == AppealStatus.UPHELD:
        stepup_require(actor=actor)  # reversing a closure is a step-up action
    if outcome not in APPEAL_TRANSITIONS[appeal.status]:
        raise ApplicationError(
            _("The appeal is already %(status)s.") % {"status": appeal.get_status_display()},
            code="invalid_appeal_transition",
        )
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
        "appeal_link": f"{settings.PORTAL_BASE_URL}/portal/appeals/{appeal.reference}/",
    }
    if outcome == AppealStatus.UPHELD:
        _closure_reverse(closure, account, appeal=appeal, actor=actor, reason=reason, now=now)
        _event(closure, kind=ClosureEventKind.APPEAL_UPHELD, actor=actor, text=reason)
        notice_enqueue(
            event="appeal.upheld",
            recipient=appeal.filed_by,
            context={**context, "credit_limit": f"{account.credit_limit:.2f}"},
            actor=actor,
            obj=appeal,
        )
    else:
        _event(closure, kind=ClosureEventKind.APPEAL_DISMISSED, actor=actor, text=reason)
        notice_enqueue(
            event="appeal.dismissed",
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
    """Undo the closure field by field from the snapshot taken when it took effect. Repayments
    made while closing are credited back to the available credit."""
    old = _move(closure, ClosureStatus.REVERSED)
    if closure.pre_credit_limit is None:
        raise ApplicationError(
            _("The closure has no pre-closure snapshot to restore."), code="no_snapshot"
        )
    repaid_since = (closure.pre_outstanding_balance or ZERO) - account.outstanding_balance
    account.credit_limit = closure.pre_credit_limit
    account.available_credit = max(
        ZERO, min(account.credit_limit, closure.pre_available_credit + repaid_since)
    )
    why = f"appeal {appeal.reference} upheld: {reason}"
    account_set_status(
        account=account,
        new_status=AccountStatus.ACTIVE,
        actor=actor,
        reason=why,
        extra_fields=["credit_limit", "available_credit"],
    )
    if account.closed_at != closure.pre_closed_at:
        account.closed_at = closure.pre_closed_at
        save_with_history(account, actor=actor, reason=why, update_fields=["closed_at"])
    closure.ended_at = now
    save_with_history(closure, actor=actor, reason=why, update_fields=["status", "ended_at"])
    _event(
        closure,
        kind=ClosureEventKind.REVERSED,
        actor=actor,
        text=why,
        old=old,
        new=closure.status,
    )
    for signal in closure.risk_signals.select_for_update().order_by("pk"):
        if signal.status != RiskSignalStatus.OVERRULED:
            signal.status = RiskSignalStatus.OVERRULED
            save_with_history(signal, actor=actor, reason=why, update_fields=["status"])
    if closure.reported_to_bureau:
        correction = CreditReportCorrection(
            account=account,
            kind=CorrectionKind.CORRECTION,
            reason=why,
            origin=f"appeal:{appeal.reference}",
            opened_at=now,
        )
        save_with_history(correction, actor=actor, reason=why)


# --- Alerts --------------------------------------------------------------------------------------


@transaction.atomic
def closure_alert_acknowledge(*, actor: User, alert_id: int, reason: str = "") -> None:
    from .models import ClosureAlert

    _require_perm(actor, "closures.change_closurealert")
    alert = ClosureAlert.objects.select_for_update().get(pk=alert_id)
    if alert.acknowledged_at is None:
        alert.acknowledged_by = actor
        alert.acknowledged_at = timezone.now()
        save_with_history(
            alert,
            actor=actor,
            reason=reason or "acknowledged",
            update_fields=["acknowledged_by", "acknowledged_at"],
        )


__all__ = [
    "OPEN_CLOSURE_STATUSES",
    "appeal_decide",
    "appeal_file",
    "appeal_take_up",
    "closure_approve",
    "closure_confirm",
    "closure_propose",
    "closure_reject",
    "closure_request_by_customer",
    "closure_settle_on_zero_balance",
    "closure_take_effect",
    "closure_withdraw",
    "closures_take_effect",
]
