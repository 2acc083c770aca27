"""Key rotation end to end: add a new key first (old data still reads), re-encrypt everything
with the command, then run with only the new key (everything, history included, still reads)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from accounts import services
from accounts.models import Customer

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _tokens(table: str, pk: str) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone, national_id FROM {table} ORDER BY {pk}")
        return cursor.fetchall()


def _all_tokens() -> list[str]:
    tokens = []
    for table, pk in (("accounts_customer", "id"), ("accounts_historicalcustomer", "history_id")):
        for phone, national_id in _tokens(table, pk):
            tokens += [phone, national_id]
    return tokens


def _create(system_user, n: int) -> Customer:
    return services.customer_create(
        actor=system_user,
        reason="onboarding",
        username=f"rot{n}",
        password=None,
        name=f"客户{n}",
        national_id=f"11010519900101{n:03d}1",
        phone=f"1391234{n:04d}",
    )


def test_rotation_end_to_end(settings, system_user):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    old = [_create(system_user, n) for n in range(3)]
    old_fernet, new_fernet = Fernet(OLD_KEY.encode()), Fernet(NEW_KEY.encode())
    assert all(old_fernet.decrypt(t.encode()) for t in _all_tokens())

    # 1. The new key goes first; data under the old key still reads, new data uses the new key.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    assert [Customer.objects.get(pk=c.pk).phone for c in old] == [c.phone for c in old]
    fresh = _create(system_user, 9)
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM accounts_customer WHERE id = %s", [fresh.pk])
        assert new_fernet.decrypt(cursor.fetchone()[0].encode()) == b"13912340009"
    before = _all_tokens()
    history_rows = Customer.history.count()

    # 2. The command re-encrypts base and historical rows under the newest key.
    call_command("rotate_field_keys", no_progress=True, batch_size=2)
    after = _all_tokens()
    assert len(after) == len(before) == 16
    for token in after:
        new_fernet.decrypt(token.encode())  # raises InvalidToken if still under the old key
    # Values under the new key already were left alone; the rest changed.
    changed = sum(1 for a, b in zip(before, after, strict=True) if a != b)
    assert changed == 12
    assert Customer.history.count() == history_rows  # rotation is not a domain change

    # 3. Only the new key: everything, including the history, still reads.
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY]
    for customer in [*old, fresh]:
        reread = Customer.objects.get(pk=customer.pk)
        assert (reread.phone, reread.national_id) == (customer.phone, customer.national_id)
        assert [h.phone for h in reread.history.all()] == [customer.phone]

    # 4. And the old key alone no longer can: proof that the rotation really happened.
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    with pytest.raises(RuntimeError):
        Customer.objects.get(pk=old[0].pk)


def test_rotation_twice_changes_nothing_the_second_time(settings, system_user):
    settings.FIELD_ENCRYPTION_KEYS = [OLD_KEY]
    _create(system_user, 1)
    settings.FIELD_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]
    call_command("rotate_field_keys", no_progress=True)
    first = _all_tokens()
    call_command("rotate_field_keys", no_progress=True)
    assert _all_tokens() == first
