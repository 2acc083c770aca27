"""The trail page shows whatever a row's `changes` holds (the writers store {field: [before,
after]}; a row of another shape is shown as it is, never a 500), and names partner interfaces
by their code."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.enums import LoanChannel, LoanKind
from accounts.services import partners as partner_services
from backoffice.roles import roles_sync
from core.activity import activity_record
from core.models import ActivityEntry
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "changes, shown",
    [
        ({"k": "v"}, "k: — → v"),
        ({"k": [1]}, "k: — → [1]"),
        ({"k": {"x": 1}}, "k: — → {&quot;x&quot;: 1}"),
        ({"k": [None, {"x": [1, 2]}]}, "k: — → {&quot;x&quot;: [1, 2]}"),
        (["a", "b"], "Changes: — → [&quot;a&quot;, &quot;b&quot;]"),
        ("just text", "Changes: — → just text"),
    ],
)
def test_a_row_of_any_shape_of_changes_is_shown_as_it_is(changes, shown, staff_client, system_user):
    client, _user, _device = staff_client("auditor")
    activity_record(
        actor=system_user, action="test.odd_changes", reason="odd-shape", changes=changes
    )
    response = client.get("/admin/audit/", {"action": "test.odd_changes", "lang": "en"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "odd-shape" in page
    assert shown in page


def test_pairs_still_read_before_and_after_with_choices_in_words(staff_client, system_user):
    client, _user, _device = staff_client("auditor")
    activity_record(
        actor=system_user,
        action="accounts.creditaccount.update",
        object_type="accounts.creditaccount",
        object_id="1",
        reason="pair-row",
        changes={"status": ["active", "frozen"]},
    )
    page = client.get("/admin/audit/", {"lang": "en"}).content.decode()
    assert "pair-row" in page
    assert "status: Active → Frozen" in page


def test_partner_interfaces_are_named_by_their_code():
    roles_sync()
    manager = StaffFactory(role="manager")
    interface = partner_services.partner_interface_register(
        actor=manager,
        reason="new partner contract",
        code="PI-LABEL-V1",
        partner="测试合作方",
        permitted_kinds=[LoanKind.CASH],
        permitted_channels=[LoanChannel.PARTNER_API],
        max_amount=Decimal("5000.00"),
    )
    entry = ActivityEntry.objects.get(
        object_type="accounts.partnerinterface", object_id=str(interface.pk)
    )
    assert entry.object_label == "PI-LABEL-V1"
