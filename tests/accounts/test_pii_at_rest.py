"""Phone and national ID never reach the database in plain text, in the base or the history."""

from __future__ import annotations

import pytest
from django.db import connection

from accounts import services
from accounts.models import Customer
from core import crypto

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
NATIONAL_ID = "11010519900307092X"


def _raw_rows(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {table} t")  # every column of every row, as text
        return [row[0] for row in cursor.fetchall()]


def test_raw_sql_shows_no_plaintext_phone_or_national_id(system_user):
    customer = services.customer_create(
        actor=system_user,
        reason="onboarding",
        username="pii",
        password=None,
        name="赵敏",
        national_id="110105 19900307 092x",
        phone="138-1234-5678",
    )
    base = _raw_rows("accounts_customer")
    history = _raw_rows("accounts_historicalcustomer")
    assert len(base) == 1
    assert len(history) == 1
    for text in base + history:
        for secret in (PHONE, NATIONAL_ID, NATIONAL_ID.lower(), PHONE[-8:], NATIONAL_ID[6:14]):
            assert secret not in text
    # ...while the application reads them back, normalized, and finds them by blind index.
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.phone, customer.national_id) == (PHONE, NATIONAL_ID)
    assert customer.history.get().phone == PHONE
    assert Customer.objects.filter(phone_index=crypto.blind_index("13812345678")).exists()
    assert Customer.objects.filter(national_id_index=crypto.blind_index(NATIONAL_ID)).exists()
    assert customer.masked_phone == "138****5678"


def test_bulk_seeded_customers_are_encrypted_too(system_user):
    from accounts.demo import bulk_national_id, demo_customers_bulk_seed

    demo_customers_bulk_seed(
        actor=system_user, customers=3, loans_per_account=1, seed=1, progress=False
    )
    national_id = bulk_national_id(2)
    rows = _raw_rows("accounts_customer") + _raw_rows("accounts_historicalcustomer")
    assert len(rows) == 6
    assert not any(national_id in text for text in rows)
    seeded = Customer.objects.get(national_id_index=crypto.blind_index(national_id))
    assert seeded.national_id == national_id
    assert not any(seeded.phone in text for text in rows)
