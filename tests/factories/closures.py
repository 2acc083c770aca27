"""Helpers for closures tests: state built through the services."""

from __future__ import annotations

import re
from decimal import Decimal

from accounts.enums import LoanChannel, LoanKind, RiskSignalKind, Severity
from accounts.services import loan_record, risk_signal_raise
from backoffice.roles import roles_sync
from closures import services
from closures.enums import ClosureReason
from closures.models import ClosureRequest
from core import crypto
from core.models import StepUpVerification
from notices.models import Notice
from tests.factories import CreditAccountFactory, StaffFactory


def stepped_up(user):
    StepUpVerification.objects.create(user=user, purpose="test")
    return user


def staff(role: str, *, fresh: bool = True):
    # post_migrate may sync the role groups before the closures permissions exist.
    roles_sync()
    user = StaffFactory(role=role)
    return stepped_up(user) if fresh else user


def account_with_balance(*, actor, balance: Decimal = Decimal("0.00"), limit="20000.00"):
    account = CreditAccountFactory(credit_limit=Decimal(limit))
    if balance:
        loan_record(
            actor=actor,
            reason="test",
            account_id=account.pk,
            amount=balance,
            kind=LoanKind.PURCHASE,
            channel=LoanChannel.APP,
        )
        account.refresh_from_db()
    return account


def sent_code(user) -> str:
    """The last closure code sent to `user`, read back from the sealed (encrypted) outbox row."""

    notice = Notice.objects.filter(recipient=user, event="closure.code").order_by("-pk").first()
    assert notice is not None and notice.sensitive
    assert notice.channel != "portal"
    assert not re.search(r"\d{6}", notice.body)  # the stored body is redacted
    return re.search(r"\d{6}", crypto.decrypt(notice.sealed_body)).group(0)


def proposed(*, account, proposer, reason=ClosureReason.OVERDUE, signal=True) -> ClosureRequest:
    if signal:
        risk_signal_raise(
            actor=proposer,
            reason="test",
            account_id=account.pk,
            kind=RiskSignalKind.OVERDUE,
            severity=Severity.HIGH,
            details={"overdue_count": 4},
        )
    return services.closure_propose(
        actor=proposer,
        reason="overdue four times",
        account_id=account.pk,
        closure_reason=reason,
        explanation="您的账户多次逾期。",
    )


def closed_by_risk(*, account, proposer, approver, actor) -> ClosureRequest:
    closure = proposed(account=account, proposer=proposer)
    services.closure_approve(actor=approver, closure_id=closure.pk, reason="evidence is clear")
    closure.refresh_from_db()
    services.closure_take_effect(actor=actor, closure_id=closure.pk, now=closure.effective_at)
    closure.refresh_from_db()
    return closure
