"""Closures the platform proposes: by staff (an agent or a risk officer), by the risk engine (a
serious signal posted to the API) or by the risk scan; then reviewed with four eyes (approved
by another reviewer with a fresh one-time code, or rejected) or withdrawn by the proposer.

Who may propose: staff holding `closures.propose_closure` (`closure_propose`); the risk engine
holding `accounts.raise_risk_signal` (`risk_signal_ingest`); a system actor (the risk scan).
Each entry point checks its own authority, then calls `_closure_propose_unchecked`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import selectors as account_selectors
from accounts.delinquency import overdue_count_of
from accounts.enums import AccountStatus, RiskSignalSource, RiskSignalStatus
from accounts.models import CreditAccount, RiskSignal, User
from accounts.services import account_freeze, risk_signal_raise
from core.audit import save_with_history
from core.clock import window_end_from_delivery
from core.errors import ApplicationError
from core.stepup import stepup_require

from .. import events, locks, selectors
from ..anomaly import alerts_on_proposal
from ..enums import (
    APPEAL_WINDOW_DAYS,
    FREEZING_REASONS,
    ClosureReason,
    ClosureSource,
    ClosureStatus,
)
from ..models import ClosureRequest
from .common import (
    account_refuse_if_not_closable,
    closure_end_unclosed,
    closure_move,
    closure_save_new,
    customer_notify,
    is_owner,
    permission_require,
)


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


def _proposal_validate(*, closure_reason: str, explanation: str) -> None:
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


def _freeze_for(
    closure: ClosureRequest, account: CreditAccount, *, actor: User, reason: str
) -> None:
    """Suspected fraud and security risk put a security hold on the account at once."""
    account_freeze(actor=actor, reason=reason, account_id=account.pk)
    account.refresh_from_db()
    closure.froze_account = True
    save_with_history(closure, actor=actor, reason=reason, update_fields=["froze_account"])
    events.closure_frozen_event(closure=closure, actor=actor, reason=reason)
    customer_notify(closure, account, "closure.frozen", actor=actor)


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
) -> ClosureRequest:
    """A risk officer or agent (or a system actor) proposes a closure for review. The evidence
    is the account's open risk signals (or the ones named), snapshotted now."""
    permission_require(actor, "closures.propose_closure")
    return _closure_propose_unchecked(
        actor=actor,
        reason=reason,
        account_id=account_id,
        closure_reason=closure_reason,
        explanation=explanation,
        source=source,
        risk_signal_ids=risk_signal_ids,
        internal_note=internal_note,
    )


def _closure_propose_unchecked(
    *,
    actor: User,
    reason: str,
    account_id: int,
    closure_reason: str,
    explanation: str,
    source: str,
    risk_signal_ids: list[int] | None = None,
    internal_note: str = "",
) -> ClosureRequest:
    """The proposal itself, for callers that checked the actor's authority (see the module
    docstring). Runs in the caller's transaction."""
    _proposal_validate(closure_reason=closure_reason, explanation=explanation)
    account = account_selectors.account_for_update(account_id=account_id)
    account_refuse_if_not_closable(account)
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
    closure_save_new(closure, actor=actor, reason=reason)
    if signals:
        closure.risk_signals.add(*signals)
    events.closure_proposed_event(closure=closure, actor=actor, reason=reason)
    if closure_reason in FREEZING_REASONS and account.status == AccountStatus.ACTIVE:
        _freeze_for(closure, account, actor=actor, reason=reason)
    alerts_on_proposal(closure=closure, actor=actor)
    return closure


# --- The risk engine's signals --------------------------------------------------------------------

# Risk signals that propose a closure by themselves (CONTRACT.md: the risk engine's API).
# suspected_fraud / security_breach at high or critical severity -> suspected_fraud /
# security_risk (both freeze the account at once); overdue when the account's computed overdue
# count (accounts.delinquency, from the schedules; never a figure typed into the signal) is at
# or over the threshold -> overdue. Everything else is
# only recorded for a person to act on.
_SIGNAL_CLOSURES = {
    "suspected_fraud": ClosureReason.SUSPECTED_FRAUD,
    "security_breach": ClosureReason.SECURITY_RISK,
}

# What the customer reads. Lazy: literals here for the catalogs, translated when the closure is
# proposed (the explanation is stored as written then).
SIGNAL_EXPLANATIONS = {
    ClosureReason.SUSPECTED_FRAUD: gettext_lazy(
        "Our risk controls found signs that your account may be used fraudulently. To protect "
        "you, the account is on hold while we review it."
    ),
    ClosureReason.SECURITY_RISK: gettext_lazy(
        "Our risk controls found signs that someone else may have accessed your account. To "
        "protect you, the account is on hold while we review it."
    ),
    ClosureReason.OVERDUE: gettext_lazy(
        "Payments on this account have been overdue several times. Under our risk rules an "
        "account with repeated overdue payments is closed. The amount you owe stays payable on "
        "its usual schedule."
    ),
}


def signal_explanation(closure_reason: str) -> str:
    """The explanation of a closure the risk engine or the risk scan proposes, in the active
    language."""
    return str(SIGNAL_EXPLANATIONS[closure_reason])


def _closure_reason_for_signal(signal: RiskSignal, account: CreditAccount) -> str | None:
    if signal.kind in _SIGNAL_CLOSURES and signal.severity in ("high", "critical"):
        return _SIGNAL_CLOSURES[signal.kind]
    if signal.kind == "overdue":
        count = overdue_count_of(account_id=account.pk)
        if count >= settings.OVERDUE_CLOSURE_THRESHOLD:
            return ClosureReason.OVERDUE
    return None


def _risk_engine_require(actor: User) -> None:
    if not (actor.is_system or (actor.is_active and actor.has_perm("accounts.raise_risk_signal"))):
        raise ApplicationError(
            _("You are not allowed to raise risk signals."), code="permission_denied", status=403
        )


@transaction.atomic
def risk_signal_ingest(
    *, actor: User, account_id: int, kind: str, severity: str, details: dict | None = None
) -> tuple[RiskSignal, ClosureRequest | None]:
    """The risk engine posts a signal; the serious ones propose the matching closure (for a
    reviewer to approve) unless the account already has one open or is not open. Holding the
    risk-signal permission is the risk engine's authority to propose."""
    _risk_engine_require(actor)
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
    closure = _closure_propose_unchecked(
        actor=actor,
        reason=f"risk engine signal #{signal.pk}",
        account_id=account.pk,
        closure_reason=closure_reason,
        explanation=signal_explanation(closure_reason),
        source=ClosureSource.RISK_ENGINE,
    )
    return signal, closure


# --- Review ---------------------------------------------------------------------------------------


@transaction.atomic
def closure_approve(
    *, actor: User, closure_id: int, reason: str, now: datetime | None = None
) -> ClosureRequest:
    """Four eyes: a reviewer who is not the proposer, with a fresh one-time code. The closure
    notice (why, what it means, how to appeal and by when) goes out now."""
    permission_require(actor, "closures.approve_closure")
    stepup_require(actor=actor)
    now = now or timezone.now()
    account, closure = locks.account_and_closure_for_update(closure_id=closure_id)
    if closure.proposed_by_id == actor.pk:
        raise ApplicationError(
            _("You proposed this closure: another reviewer must approve it."),
            code="maker_checker",
            status=403,
        )
    old = closure_move(closure, ClosureStatus.APPROVED)
    closure.approved_by = actor
    closure.approved_at = now
    closure.effective_at = now + timedelta(days=closure.notice_days)
    closure.notice_sent_at = now
    # The window runs from the notice's delivery; the portal copy is written (delivered) in this
    # transaction, so the deadline the notice states is counted from this moment.
    closure.appeal_deadline = window_end_from_delivery(timezone.now(), APPEAL_WINDOW_DAYS)
    save_with_history(
        closure,
        actor=actor,
        reason=reason,
        update_fields=["status", "approved_by", "approved_at", "effective_at", "notice_sent_at",
                       "appeal_deadline"],
    )  # fmt: skip
    events.closure_approved_event(closure=closure, actor=actor, old_status=old, reason=reason)
    customer_notify(closure, account, "closure.notice", actor=actor)
    events.closure_notice_sent_event(closure=closure, actor=actor, notice_event="closure.notice")
    return closure


@transaction.atomic
def closure_reject(*, actor: User, closure_id: int, reason: str) -> ClosureRequest:
    permission_require(actor, "closures.approve_closure")
    account, closure = locks.account_and_closure_for_update(closure_id=closure_id)
    if closure.proposed_by_id == actor.pk:
        raise ApplicationError(
            _("You proposed this closure: withdraw it instead."),
            code="maker_checker",
            status=403,
        )
    _old, lifted = closure_end_unclosed(
        closure, account, status=ClosureStatus.REJECTED, actor=actor, reason=reason
    )
    if lifted:
        customer_notify(closure, account, "closure.hold_lifted", actor=actor)
    return closure


def _withdraw_check(closure: ClosureRequest, account: CreditAccount, *, actor: User) -> None:
    if actor.is_staff or actor.is_system:
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
        return
    if not is_owner(actor, account):
        raise ApplicationError(_("No such closure."), code="not_found", status=404)
    if closure.reason != ClosureReason.CUSTOMER_REQUEST:
        raise ApplicationError(
            _("This closure was not requested by you; you may appeal it instead."),
            code="invalid_closure_transition",
        )


@transaction.atomic
def closure_withdraw(*, actor: User, closure_id: int, reason: str) -> ClosureRequest:
    """The customer withdraws their own request until it takes effect; a staff proposer
    withdraws a proposal still pending review."""
    account, closure = locks.account_and_closure_for_update(closure_id=closure_id)
    _withdraw_check(closure, account, actor=actor)
    old, lifted = closure_end_unclosed(
        closure, account, status=ClosureStatus.WITHDRAWN, actor=actor, reason=reason
    )
    if closure.reason == ClosureReason.CUSTOMER_REQUEST and old == ClosureStatus.APPROVED:
        customer_notify(closure, account, "closure.withdrawn", actor=actor)
    elif lifted:
        customer_notify(closure, account, "closure.hold_lifted", actor=actor)
    return closure
