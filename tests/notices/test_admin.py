"""The notices admin: list with delivery proof under a fixed query budget, search, no delete,
and the resend action through the service with a reason."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.staff import staff_upsert
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.services import notice_enqueue
from tests.admin.conftest import PASSWORD, login
from tests.factories import CustomerFactory

URL = "/admin/notices/notice/"


@pytest.fixture
def signed_in(system_user):
    def make(role: str):
        user, device = staff_upsert(
            actor=system_user, reason="test", username=f"n-{role}", role=role, password=PASSWORD
        )
        client = Client()
        assert login(client, user, device).status_code == 302
        return client, user

    return make


def _notices(count: int, actor) -> list[Notice]:
    rows = []
    for _ in range(count):
        customer = CustomerFactory(preferred_language="en")
        rows += notice_enqueue(
            event="test.hello",
            recipient=customer.user,
            context={"name": "A", "text": "t"},
            actor=actor,
        )
    return rows


def test_changelist_shows_delivery_proof_with_a_fixed_query_budget(signed_in, system_user):
    client, _manager = signed_in("manager")
    _notices(2, system_user)
    counts = []
    for extra in (0, 20):
        _notices(extra, system_user)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL)
        assert response.status_code == 200, response.content[:500]
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] and counts[1] <= 15, counts
    page = response.content.decode()
    assert "portal" in page and "test.hello" in page


def test_search_by_username_and_event_prefix(signed_in, system_user):
    client, _manager = signed_in("manager")
    rows = _notices(2, system_user)
    username = rows[0].recipient.username
    response = client.get(URL, {"q": username})
    assert set(response.context["cl"].result_list) == {
        n for n in rows if n.recipient.username == username
    }
    response = client.get(URL, {"q": "test.he"})
    assert len(response.context["cl"].result_list) == len(rows)
    response = client.get(URL, {"q": "hello"})  # not a prefix, not a username
    assert len(response.context["cl"].result_list) == 0


def test_resend_action_goes_through_the_service_with_a_reason(signed_in, system_user):
    client, agent = signed_in("agent")
    rows = _notices(1, system_user)
    email = next(n for n in rows if n.channel == "email")
    Notice.objects.filter(pk=email.pk).update(status=NoticeStatus.FAILED, attempts=8)
    form = {
        "action": "resend",
        "select_across": "0",
        "index": "0",
        ACTION_CHECKBOX_NAME: [email.pk],
    }
    page = client.post(URL, form)
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    done = client.post(URL, {**form, "reason_confirmed": "1", "reason": "address corrected"})
    assert done.status_code == 302
    email.refresh_from_db()
    assert email.status == NoticeStatus.PENDING and email.attempts == 0
    record = email.history.first()
    assert record.history_user == agent
    assert record.history_change_reason == "address corrected"


def test_auditor_reads_but_cannot_resend_and_nobody_deletes(signed_in, system_user):
    client, _auditor = signed_in("auditor")
    rows = _notices(1, system_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "resend" not in response.context["cl"].model_admin.get_actions(response.wsgi_request)
    assert client.get(f"{URL}{rows[0].pk}/change/").status_code == 200
    assert client.get(f"{URL}{rows[0].pk}/delete/").status_code in (302, 403)
    assert Notice.objects.count() == len(rows)


def test_resending_an_unknown_notice_shows_the_risk_and_needs_the_confirmation(
    signed_in, system_user
):
    client, manager = signed_in("manager")
    rows = _notices(1, system_user)
    email = next(n for n in rows if n.channel == "email")
    Notice.objects.filter(pk=email.pk).update(
        status=NoticeStatus.UNKNOWN, attempts=1, last_error="Outcome unknown: dropped"
    )
    form = {
        "action": "resend_unknown",
        "select_across": "0",
        "index": "0",
        ACTION_CHECKBOX_NAME: [email.pk],
    }
    page = client.post(URL, form).content.decode()
    assert f"notice-{email.pk}@" in page and "可能会收到两次" in page  # the duplicate risk
    # A reason without the confirmation is refused: nothing changes.
    refused = client.post(URL, {**form, "reason_confirmed": "1", "reason": "lost"})
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    email.refresh_from_db()
    assert email.status == NoticeStatus.UNKNOWN
    # The plain resend action refuses an unknown notice.
    plain = {**form, "action": "resend", "reason_confirmed": "1", "reason": "x"}
    client.post(URL, plain)
    email.refresh_from_db()
    assert email.status == NoticeStatus.UNKNOWN
    done = client.post(
        URL,
        {
            **form,
            "reason_confirmed": "1",
            "reason": "provider lost it",
            "accept_duplicate_risk": "on",
        },
    )
    assert done.status_code == 302
    email.refresh_from_db()
    assert email.status == NoticeStatus.PENDING
    record = email.history.first()
    assert record.history_user == manager
    assert record.history_change_reason.startswith("provider lost it (resent although")


def test_confirming_delivery_of_an_unknown_notice_from_the_admin(signed_in, system_user):
    client, manager = signed_in("manager")
    rows = _notices(1, system_user)
    email = next(n for n in rows if n.channel == "email")
    Notice.objects.filter(pk=email.pk).update(status=NoticeStatus.UNKNOWN, attempts=1)
    form = {
        "action": "confirm_delivered",
        "select_across": "0",
        "index": "0",
        ACTION_CHECKBOX_NAME: [email.pk],
        "reason_confirmed": "1",
        "reason": "provider log shows 250",
    }
    assert client.post(URL, form).status_code == 302
    email.refresh_from_db()
    assert email.status == NoticeStatus.SENT and email.sent_at
    assert email.history.first().history_user == manager
