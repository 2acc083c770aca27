"""Unmasking personal data: managers only, after a step-up, and every view in the trail."""

from __future__ import annotations

import pytest

from core.models import ActivityEntry
from tests.admin.conftest import totp_now
from tests.factories import CustomerFactory


def _step_up(client, device) -> None:
    response = client.post("/admin/stepup/", {"otp_token": totp_now(device), "next": "/admin/"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_auditor_cannot_unmask_even_after_a_step_up(staff_client):
    client, _user, device = staff_client("auditor")
    customer = CustomerFactory(phone="13812345678", national_id="110105199001011234")
    _step_up(client, device)
    url = f"/admin/accounts/customer/{customer.pk}/unmask/"
    assert client.get(url).status_code == 403
    response = client.post(url)
    assert response.status_code == 403
    assert "13812345678" not in response.content.decode()
    assert not ActivityEntry.objects.filter(action="pii.unmask").exists()


@pytest.mark.django_db
def test_a_managers_unmasked_view_is_in_the_trail(staff_client):
    client, user, device = staff_client("manager")
    customer = CustomerFactory(phone="13812345678", national_id="110105199001011234")
    _step_up(client, device)
    assert ActivityEntry.objects.filter(action="auth.stepup", actor=user).exists()
    response = client.post(f"/admin/accounts/customer/{customer.pk}/unmask/")
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    entry = ActivityEntry.objects.get(action="pii.unmask", actor=user)
    assert entry.object_type == "accounts.customer" and entry.object_id == str(customer.pk)
    assert "13812345678" not in str(entry.changes) + entry.reason + entry.object_label
