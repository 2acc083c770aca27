"""Step-up freshness (PRODUCT.md "Security"): a code entered in this session in the last 15
minutes, the sign-in's TOTP included, is fresh; an older one, or one of another session, is
not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import StepUpVerification
from tests.factories.complaints import staff

from .conftest import without_stepup
from .test_approval import pending_case

pytestmark = pytest.mark.django_db


def _approve(complaint) -> str:
    return f"/admin/complaints/complaint/{complaint.pk}/act/approve/"


def test_a_reviewer_who_just_signed_in_is_not_asked_again(staff_client, system_user):
    complaint = pending_case(system_user, staff("agent"))
    client, reviewer, _device = staff_client("reviewer")
    response = client.get(_approve(complaint))
    assert response.status_code == 200, response.get("Location")
    assert StepUpVerification.objects.filter(
        user=reviewer, session_key=client.session.session_key, purpose="sign-in"
    ).exists()


@pytest.mark.parametrize(("minutes_ago", "fresh"), [(14, True), (16, False)])
def test_a_code_of_this_session_counts_for_15_minutes(
    staff_client, system_user, minutes_ago, fresh
):
    complaint = pending_case(system_user, staff("agent"))
    client, reviewer, _device = staff_client("reviewer")
    without_stepup(client)
    StepUpVerification.objects.create(
        user=reviewer,
        session_key=client.session.session_key,
        purpose="admin",
        verified_at=timezone.now() - timedelta(minutes=minutes_ago),
    )
    response = client.get(_approve(complaint))
    if fresh:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/stepup/?next=")


def test_a_code_of_another_session_does_not_count(staff_client, system_user):
    complaint = pending_case(system_user, staff("agent"))
    client, reviewer, _device = staff_client("reviewer")
    other_session = client.session.session_key
    without_stepup(client)
    assert other_session != client.session.session_key
    assert StepUpVerification.objects.filter(user=reviewer, session_key=other_session).exists()
    assert client.get(_approve(complaint)).status_code == 302
