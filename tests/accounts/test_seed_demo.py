"""`seed_demo`: the demo stories exist, every seeded row has its history, and a second run with
the same arguments changes nothing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from accounts import demo
from accounts.enums import AccountStatus, RiskSignalKind
from accounts.models import AuthorizationEvent, CreditAccount, Customer, LoanRecord, User
from backoffice.roles import user_role

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def _seed(**kwargs) -> str:
    out = StringIO()
    call_command(
        "seed_demo",
        customers=30,
        loans_per_account=2,
        seed=7,
        no_progress=True,
        stdout=out,
        **kwargs,
    )
    return out.getvalue()


def test_seed_demo_twice_changes_nothing_the_second_time():
    first_output = _seed()
    first = _row_counts()
    # alice, bob, the six of the incident walk (accounts/partners_demo.py), 30 bulk customers
    assert first["accounts_customer"] == 38
    assert "otpauth://totp/" in first_output
    second_output = _seed()
    assert _row_counts() == first
    assert "otpauth://totp/" not in second_output
    assert "0 created, 30 already present" in second_output


def test_seed_demo_stories_and_history():
    output = _seed()
    now = timezone.now()

    alice = Customer.objects.get(user__username="alice")
    assert alice.user.check_password("alice-demo-pass")
    (account,) = alice.accounts.all()
    assert account.status == AccountStatus.ACTIVE
    loans = list(account.loans.all())
    assert len(loans) >= 3
    unauthorized = [loan for loan in loans if not loan.authorization_events.exists()]
    assert len(unauthorized) == 1

    bob = Customer.objects.get(user__username="bob")
    assert bob.user.check_password("bob-demo-pass")
    (closed,) = bob.accounts.all()
    assert closed.status == AccountStatus.CLOSED
    assert now - timedelta(days=30) < closed.closed_at < now
    assert closed.delinquency.overdue_count >= 3  # computed from the schedules
    assert closed.risk_signals.filter(kind=RiskSignalKind.OVERDUE).exists()
    # Bob's closure comes from the closures app's real flow, registered in accounts.hooks (the
    # others are the demo campaign's: tests/accounts/test_demo_story.py).
    from closures.models import ClosureRequest

    assert ClosureRequest.objects.filter(campaign__isnull=True).count() == 1

    for username, role in demo.DEMO_STAFF:
        user = User.objects.get(username=username)
        assert user.is_staff and user.check_password(f"{username}-demo-pass")
        assert user_role(user) == role
        assert f"{username}: otpauth://totp/" in output

    bulk = Customer.objects.filter(user__username__startswith=demo.BULK_USERNAME_PREFIX)
    assert bulk.count() == 30
    assert not any(c.user.has_usable_password() for c in bulk.select_related("user"))
    assert CreditAccount.objects.filter(delinquency__overdue_count__gte=3, status="active").exists()
    assert LoanRecord.objects.exclude(partner_interface="").exists()
    assert LoanRecord.objects.filter(authorization_events__isnull=True).count() > 1
    # Balances are consistent with the loans.
    for acc in CreditAccount.objects.filter(customer__in=bulk):
        owed = sum(loan.outstanding_amount for loan in acc.loans.all())
        assert acc.outstanding_balance == owed
        assert acc.available_credit == acc.credit_limit - owed

    # Every seeded row has its history row, by the seeding actor, with the reason.
    actor = User.objects.get(username=f"system:{demo.SEED_ACTOR}")
    for model in (User, Customer, CreditAccount, LoanRecord, AuthorizationEvent):
        created = model.history.filter(history_type="+").values("id").distinct().count()
        assert created == model.objects.count(), model
    bulk_history = Customer.history.filter(user__username__startswith="cust")
    assert bulk_history.count() == 30
    assert set(bulk_history.values_list("history_user_id", "history_change_reason")) == {
        (actor.pk, demo.SEED_REASON)
    }


def test_bulk_rows_are_deterministic_under_a_seed():
    now = timezone.now()
    a = demo._bulk_batch(indices=[1, 2, 3], seed=5, loans_per_account=3, now=now)
    b = demo._bulk_batch(indices=[1, 2, 3], seed=5, loans_per_account=3, now=now)
    c = demo._bulk_batch(indices=[1, 2, 3], seed=6, loans_per_account=3, now=now)

    def strip(rows):
        return [{k: v for k, v in r.items() if k != "password"} for r in rows]

    assert strip(a.users) == strip(b.users)
    assert a.loans == b.loans and a.events == b.events
    assert a.loans != c.loans
    # National IDs are valid (check digit) and unique.
    ids = {demo.bulk_national_id(i) for i in range(1, 20_000)}
    assert len(ids) == 19_999
    assert demo.national_id_with_check("11010519491231002") == "11010519491231002X"
