"""The demo's register (accounts/partners_demo.py), through the real services."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.demo import PARTNER_INTERFACES
from accounts.enums import LoanChannel, LoanKind, PartnerInterfaceStatus
from accounts.models import PartnerInterface
from accounts.partners import audit_overdue_q, register_snapshot
from accounts.partners_demo import partner_interfaces_demo_seed
from core.audit import system_actor

pytestmark = pytest.mark.django_db


def test_demo_register_covers_the_demo_loans_and_is_idempotent():
    actor = system_actor("seed-demo")
    created = partner_interfaces_demo_seed(actor=actor, now=timezone.now())
    assert len(created) == 7
    assert partner_interfaces_demo_seed(actor=actor, now=timezone.now()) == []
    codes = set(PartnerInterface.objects.values_list("code", flat=True))
    assert {code for code, _name in PARTNER_INTERFACES} <= codes
    snapshot = register_snapshot()
    # Alice's unauthorized cash loan (¥6,800 through PI-QUICKCASH-V1) is within the register:
    # the walk suspends the interface after the incident alert.
    assert snapshot.refusal("PI-QUICKCASH-V1", LoanKind.CASH, LoanChannel.PARTNER_API, 6800) is None
    assert (
        snapshot.refusal("PI-LEGACY-H5-V0", LoanKind.PURCHASE, LoanChannel.WEB, 10)
        == "interface_suspended"
    )
    overdue = set(
        PartnerInterface.objects.filter(audit_overdue_q(timezone.localdate())).values_list(
            "code", flat=True
        )
    )
    assert overdue == {"PI-QUICKCASH-V1", "PI-DIDI-CREDIT-V1"}
    quick = PartnerInterface.objects.get(code="PI-QUICKCASH-V1")
    assert quick.status == PartnerInterfaceStatus.ACTIVE and quick.last_audit_on is None
    assert quick.history.first().history_user == actor
