"""The register as the ledger feed and the pre-check read it: one query, then in memory."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.enums import (
    INTERFACE_NOT_PERMITTED,
    INTERFACE_SUSPENDED,
    LoanChannel,
    LoanKind,
    PartnerInterfaceStatus,
)
from accounts.models import PartnerInterface
from accounts.partners import register_snapshot

from .conftest import register

pytestmark = pytest.mark.django_db

API = LoanChannel.PARTNER_API


@pytest.fixture
def snapshot(manager):
    register(manager, code="PI-OK")
    register(manager, code="PI-SUSP")
    register(manager, code="PI-GONE")
    # The status moves only through the four-eyes services (tested in test_services); the
    # snapshot's rule is what is tested here.
    PartnerInterface.objects.filter(code="PI-SUSP").update(status=PartnerInterfaceStatus.SUSPENDED)
    PartnerInterface.objects.filter(code="PI-GONE").update(status=PartnerInterfaceStatus.RETIRED)
    return register_snapshot()


@pytest.mark.parametrize(
    ("code", "kind", "channel", "amount", "expected"),
    [
        ("PI-OK", LoanKind.CASH, API, "5000.00", None),  # at the maximum
        ("PI-OK", LoanKind.PURCHASE, API, "0.01", None),
        ("", LoanKind.INSTALLMENT, LoanChannel.APP, "99999.00", None),  # not through a partner
        ("   ", LoanKind.CASH, API, "1.00", None),
        ("PI-OK", LoanKind.CASH, API, "5000.01", INTERFACE_NOT_PERMITTED),  # over the maximum
        ("PI-OK", LoanKind.INSTALLMENT, API, "10.00", INTERFACE_NOT_PERMITTED),  # kind
        ("PI-OK", LoanKind.CASH, LoanChannel.WEB, "10.00", INTERFACE_NOT_PERMITTED),  # channel
        ("PI-UNKNOWN", LoanKind.CASH, API, "10.00", INTERFACE_NOT_PERMITTED),
        ("pi-ok", LoanKind.CASH, API, "10.00", INTERFACE_NOT_PERMITTED),  # codes are exact
        ("PI-OK", LoanKind.CASH, API, "not a number", INTERFACE_NOT_PERMITTED),
        ("PI-SUSP", LoanKind.CASH, API, "10.00", INTERFACE_SUSPENDED),
        ("PI-SUSP", LoanKind.INSTALLMENT, API, "99999.00", INTERFACE_SUSPENDED),  # status first
        ("PI-GONE", LoanKind.CASH, API, "10.00", INTERFACE_SUSPENDED),
    ],
)
def test_refusal(snapshot, code, kind, channel, amount, expected):
    value = amount if amount == "not a number" else Decimal(amount)
    assert snapshot.refusal(code, kind, channel, value) == expected


def test_one_query_then_a_thousand_loans_in_memory(manager, django_assert_num_queries):
    for i in range(30):
        register(manager, code=f"PI-{i:03d}")
    with django_assert_num_queries(1):
        snapshot = register_snapshot()
        answers = [
            snapshot.refusal(f"PI-{i % 40:03d}", LoanKind.CASH, API, Decimal(i * 10))
            for i in range(1000)
        ]
    assert len(snapshot) == 30
    # codes PI-030..039 are unknown; amounts over ¥5,000 are not permitted
    allowed = [i for i in range(1000) if i % 40 < 30 and i * 10 <= 5000]
    assert [i for i, a in enumerate(answers) if a is None] == allowed
    assert set(answers) == {None, INTERFACE_NOT_PERMITTED}


def test_snapshot_is_a_moment(manager):
    snapshot = register_snapshot()
    register(manager, code="PI-LATER")
    assert snapshot.refusal("PI-LATER", LoanKind.CASH, API, Decimal("1")) == INTERFACE_NOT_PERMITTED
    assert register_snapshot().refusal("PI-LATER", LoanKind.CASH, API, Decimal("1")) is None
