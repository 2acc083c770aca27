"""Issue 14 item 5, step-up bound to the session that made it: a manager's code entered in one
session unlocks nothing in another; the TOTP sign-in is a fresh step-up of the session it
opens (issue 13 item 1); services reach the session through the request context, so
`stepup_require(actor=...)` needs no session parameter."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.utils import timezone

from core.errors import ApplicationError
from core.models import PiiAccessLog, StepUpVerification
from core.net import request_context
from core.stepup import stepup_is_fresh, stepup_require
from tests.admin.conftest import login, totp_now, without_stepup
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PHONE = "13712345678"


@pytest.fixture
def customer():
    return CustomerFactory(phone=PHONE, national_id="110105199001011234")


def _unmask_url(customer) -> str:
    return f"/admin/accounts/customer/{customer.pk}/unmask/"


def test_a_code_entered_in_one_session_does_not_unlock_another(make_staff, customer):
    manager, device = make_staff("manager")
    office, laptop = Client(), Client()
    assert login(office, manager, device).status_code == 302
    assert login(laptop, manager, device).status_code == 302
    # Both sessions signed in more than 15 minutes ago: neither has a fresh code.
    without_stepup(office)
    without_stepup(laptop)
    url = _unmask_url(customer)
    assert office.post(url)["Location"].startswith("/admin/stepup/")

    assert office.post("/admin/stepup/", {"otp_token": totp_now(device)}).status_code == 302
    shown = office.post(url)
    assert shown.status_code == 200 and PHONE in shown.content.decode()
    assert PiiAccessLog.objects.count() == 1

    # Same manager, other session: asked for a code, nothing revealed.
    refused = laptop.post(url)
    assert refused.status_code == 302 and refused["Location"].startswith("/admin/stepup/")
    assert PHONE not in laptop.get(url).content.decode()
    assert PiiAccessLog.objects.count() == 1

    assert laptop.post("/admin/stepup/", {"otp_token": totp_now(device)}).status_code == 302
    assert PHONE in laptop.post(url).content.decode()
    assert PiiAccessLog.objects.count() == 2
    keys = set(
        StepUpVerification.objects.filter(user=manager, purpose="admin").values_list(
            "session_key", flat=True
        )
    )
    assert keys == {office.session.session_key, laptop.session.session_key}


def test_the_totp_sign_in_is_a_fresh_step_up_of_its_own_session(make_staff, customer):
    manager, device = make_staff("manager")
    client = Client()
    assert login(client, manager, device).status_code == 302
    row = StepUpVerification.objects.get(user=manager)
    assert row.purpose == "sign-in" and row.session_key == client.session.session_key
    shown = client.post(_unmask_url(customer))
    assert shown.status_code == 200 and PHONE in shown.content.decode()
    # The same login under another session key (a copied cookie's new session) is not.
    without_stepup(client)
    assert client.post(_unmask_url(customer)).status_code == 302


def test_a_password_only_session_gets_no_step_up(db):
    from tests.factories import StaffFactory

    user = StaffFactory(role="manager", password="")
    user.set_password("Staff-pass-2026!")
    user.save()
    client = Client()
    client.post("/admin/login/", {"username": user.username, "password": "Staff-pass-2026!"})
    assert not StepUpVerification.objects.filter(user=user).exists()


def _request(session_key: str | None):
    request = RequestFactory().post("/admin/x/")
    if session_key is not None:
        request.session = SessionStore(session_key=session_key)
    return request


def _session_key() -> str:
    session = SessionStore()
    session.create()
    return session.session_key


def test_services_read_the_session_from_the_request_context(make_staff):
    manager, _device = make_staff("manager")
    mine, other = _session_key(), _session_key()
    StepUpVerification.objects.create(user=manager, session_key=mine, purpose="test")
    StepUpVerification.objects.create(user=manager, session_key="", purpose="unbound")
    StepUpVerification.objects.create(
        user=manager,
        session_key=other,
        purpose="stale",
        verified_at=timezone.now() - timedelta(minutes=16),
    )

    with request_context(_request(mine)):
        assert stepup_is_fresh(user=manager)
        stepup_require(actor=manager)
    for key in (other, None):  # another session (its code is stale); no session (API token)
        with request_context(_request(key)):
            assert not stepup_is_fresh(user=manager)
            with pytest.raises(ApplicationError) as exc:
                stepup_require(actor=manager)
            assert exc.value.code == "stepup_required"
    # An explicit session key wins over the context.
    with request_context(_request(other)):
        assert stepup_is_fresh(user=manager, session_key=mine)
    # Outside any request (a task, a command) there is no session to bind to.
    assert stepup_is_fresh(user=manager)
    assert not stepup_is_fresh(user=manager, session_key=other)
