"""`seed_demo` goes through the ledger feed, and its dates agree with the story (issue 13 item
19): accounts opened before their loans; bob's `overdue` closure approved and notified 13 days
ago, effective 6 days ago after the 7-day notice period, closed (nothing owed), the appeal
deadline 30 days from the notice, the overdue count the computed one."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from accounts.enums import AccountStatus, RiskSignalKind
from accounts.models import Customer, LoanRecord, Repayment
from closures.enums import ClosureStatus
from closures.models import ClosureRequest
from closures.selectors import closure_appeal_deadline
from core.clock import window_end_from_delivery

pytestmark = pytest.mark.django_db


def test_seed_demo_comes_through_the_feed_with_the_story_dates():
    call_command("seed_demo", customers=6, loans_per_account=2, seed=3, no_progress=True,
                 stdout=StringIO())  # fmt: skip
    now = timezone.now()
    # Through the feed: every loan and repayment carries the hash of the body the core sent,
    # every customer the core's reference.
    assert not LoanRecord.objects.filter(core_hash="").exists()
    assert not Repayment.objects.filter(core_hash="").exists()
    assert not Customer.objects.filter(core_reference__isnull=True).exists()
    assert not LoanRecord.objects.filter(created_at__lt=F("account__opened_at")).exists()

    bob = Customer.objects.get(user__username="bob")
    (account,) = bob.accounts.all()
    closure = ClosureRequest.objects.get(account=account)
    assert closure.status == ClosureStatus.CLOSED and account.status == AccountStatus.CLOSED
    assert account.outstanding_balance == 0
    days = lambda at: round((now - at) / timedelta(days=1))  # noqa: E731
    assert days(closure.approved_at) == 13 and days(closure.notice_sent_at) == 13
    assert closure.effective_at == closure.approved_at + timedelta(days=7)
    assert days(closure.effective_at) == 6 and account.closed_at == closure.effective_at
    expected = window_end_from_delivery(closure.notice_sent_at, 30)
    assert closure.appeal_deadline == expected
    assert closure_appeal_deadline(closure) == expected
    computed = account.delinquency.overdue_count
    assert computed == 4
    signal = account.risk_signals.get(kind=RiskSignalKind.OVERDUE)
    assert signal.details["overdue_count"] == computed
    repaid = Repayment.objects.get(account=account)
    assert repaid.paid_at < closure.approved_at
