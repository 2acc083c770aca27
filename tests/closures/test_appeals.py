"""Appeals: window, one per closure, attachment checks, no-stake manager, exact reversal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from django.http import Http404

from accounts.enums import CorrectionKind, RepaymentChannel, RiskSignalStatus
from accounts.models import CreditReportCorrection
from accounts.services import repayment_record
from closures import services
from closures.enums import AppealStatus, ClosureStatus
from core.errors import ApplicationError
from notices.models import Notice
from tests.factories import CreditAccountFactory
from tests.factories.closures import account_with_balance, closed_by_risk, staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ACCOUNT_FIELDS = [
    "status",
    "credit_limit",
    "available_credit",
    "outstanding_balance",
    "closed_at",
    "overdue_count",
    "interest_free_days",
    "number",
    "customer",
]


@pytest.fixture
def closed(db, agent, reviewer, system_user):
    account = CreditAccountFactory(overdue_count=4)
    before = model_to_dict(account, fields=ACCOUNT_FIELDS)
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    return account, closure, before


def _file(actor, closure, **kw):
    return services.appeal_file(actor=actor, closure_id=closure.pk, grounds="我一直按时还款", **kw)


def test_upheld_reverses_exactly(closed, manager, django_capture_on_commit_callbacks):
    account, closure, before = closed
    user = account.customer.user
    account.refresh_from_db()
    assert account.status == "closed" and account.credit_limit == 0
    appeal = _file(user, closure)
    assert appeal.due_at - appeal.filed_at >= timedelta(days=15)
    with django_capture_on_commit_callbacks(execute=True):
        services.appeal_decide(
            actor=manager,
            appeal_id=appeal.pk,
            outcome=AppealStatus.UPHELD,
            decision_text="逾期记录有误",
            reason="bank error in overdue count",
        )
    account.refresh_from_db()
    assert model_to_dict(account, fields=ACCOUNT_FIELDS) == before
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.REVERSED
    assert set(closure.risk_signals.values_list("status", flat=True)) == {
        RiskSignalStatus.OVERRULED
    }
    correction = CreditReportCorrection.objects.get(account=account)
    assert correction.kind == CorrectionKind.CORRECTION
    assert correction.origin == f"appeal:{appeal.reference}"
    assert Notice.objects.filter(recipient=user, event="appeal.upheld").exists()
    assert account.history.first().history_user_id == manager.pk
    kinds = list(closure.events.order_by("at", "pk").values_list("kind", flat=True))
    assert kinds[:2] == ["proposed", "approved"] and "reversed" in kinds


def test_reversal_credits_repayments_made_while_closing(agent, reviewer, manager, system_user):
    account = account_with_balance(actor=system_user, balance=Decimal("500.00"))
    before = model_to_dict(account, fields=ACCOUNT_FIELDS)
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    assert closure.status == ClosureStatus.CLOSING
    repayment_record(
        actor=system_user,
        reason="t",
        account_id=account.pk,
        amount=Decimal("200.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    appeal = _file(account.customer.user, closure)
    services.appeal_decide(
        actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="x", reason="x"
    )
    account.refresh_from_db()
    assert account.status == "active"
    assert account.credit_limit == before["credit_limit"]
    assert account.outstanding_balance == Decimal("300.00")
    assert account.available_credit == before["available_credit"] + Decimal("200.00")


def test_dismissed_sends_reasons_and_outside_routes(closed, manager):
    account, closure, _before = closed
    appeal = _file(account.customer.user, closure)
    services.appeal_decide(
        actor=manager,
        appeal_id=appeal.pk,
        outcome=AppealStatus.DISMISSED,
        decision_text="逾期属实",
        reason="overdue confirmed",
    )
    account.refresh_from_db()
    assert account.status == "closed"
    body = Notice.objects.get(
        recipient=account.customer.user, event="appeal.dismissed", channel="portal"
    ).body
    assert "逾期属实" in body and "12378" in body
    with pytest.raises(ApplicationError) as exc:
        services.appeal_decide(
            actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="x", reason="x"
        )
    assert exc.value.code == "invalid_appeal_transition"


def test_staff_with_a_stake_cannot_decide(closed, reviewer):
    account, closure, _ = closed
    reviewer.groups.add(*staff("manager").groups.all())
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)  # fresh permission cache
    appeal = _file(account.customer.user, closure)
    with pytest.raises(ApplicationError) as exc:
        services.appeal_decide(
            actor=reviewer, appeal_id=appeal.pk, outcome="dismissed", decision_text="x", reason="x"
        )
    assert exc.value.code == "conflict_of_interest"


def test_upheld_needs_stepup(closed):
    account, closure, _ = closed
    manager = staff("manager", fresh=False)
    appeal = _file(account.customer.user, closure)
    with pytest.raises(ApplicationError) as exc:
        services.appeal_decide(
            actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="x", reason="x"
        )
    assert exc.value.code == "stepup_required"


def test_one_appeal_per_closure_and_window(closed):
    account, closure, _ = closed
    user = account.customer.user
    with pytest.raises(ApplicationError) as exc:
        _file(user, closure, now=closure.appeal_deadline + timedelta(seconds=1))
    assert exc.value.code == "appeal_window_closed"
    _file(user, closure)
    with pytest.raises(ApplicationError) as exc:
        _file(user, closure)
    assert exc.value.code == "already_appealed"


def test_attachment_type_from_content_and_size(closed, settings):
    account, closure, _ = closed
    user = account.customer.user
    fake = SimpleUploadedFile("evidence.pdf", b"MZ\x90\x00 not a pdf at all", "application/pdf")
    with pytest.raises(ApplicationError) as exc:
        _file(user, closure, attachment=fake)
    assert exc.value.status == 400 and "attachment" in exc.value.fields
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (5 * 1024 * 1024), "application/pdf")
    with pytest.raises(ApplicationError) as exc:
        _file(user, closure, attachment=big)
    assert exc.value.status == 413
    good = SimpleUploadedFile("../../etc/passwd.txt", PDF, "text/plain")
    appeal = _file(user, closure, attachment=good)
    assert appeal.attachment_content_type == "application/pdf"
    assert appeal.attachment.name.startswith("appeals/") and appeal.attachment.name.endswith(".pdf")
    assert "passwd" not in appeal.attachment.name
    assert appeal.attachment.path.startswith(str(settings.MEDIA_ROOT))


def test_stranger_cannot_appeal(closed):
    _account, closure, _ = closed
    stranger = CreditAccountFactory().customer.user
    with pytest.raises(Http404):
        _file(stranger, closure)
