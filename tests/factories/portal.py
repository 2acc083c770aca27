"""Helpers for portal and API tests: customers with accounts and loans, portal notices."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from django.utils import timezone

from accounts.models import CreditAccount, Customer, LoanRecord
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory, UserFactory

PASSWORD = "test-pass-123"
_seq = count(1)


def customer_with_account(
    *, username: str | None = None, loans: int = 0, name: str | None = None
) -> tuple[Customer, CreditAccount, list[LoanRecord]]:
    user = UserFactory(username=username or f"cust{next(_seq)}")
    kwargs = {"name": name} if name else {}
    customer = CustomerFactory(user=user, **kwargs)
    account = CreditAccountFactory(customer=customer)
    return customer, account, loans_for(account, loans)


def loans_for(account: CreditAccount, n: int) -> list[LoanRecord]:
    """n loans, one minute apart, the last one newest."""
    start = timezone.now() - timedelta(days=1)
    return [
        LoanRecordFactory(account=account, created_at=start + timedelta(minutes=i))
        for i in range(n)
    ]


def portal_notice(*, user, subject: str = "Hello", body: str = "Body", event: str = "test.event"):
    from notices.models import Notice

    return Notice.objects.create(
        event=event,
        recipient=user,
        channel="portal",
        language="zh-hans",
        idempotency_key=f"test:{next(_seq)}:{user.pk}",
        subject=subject,
        body=body,
        status="sent",
        sent_at=timezone.now(),
    )
