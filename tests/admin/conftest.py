"""Fixtures for the staff admin tests: staff members with real TOTP devices and sessions that
signed in through the real login form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP

from accounts.models import User
from accounts.staff import staff_upsert
from core.models import StaffTOTPDevice as TOTPDevice

PASSWORD = "Staff-pass-2026!"


def totp_now(device: TOTPDevice) -> str:
    """The current code of `device`, computed independently of the device's own verify()."""
    device.refresh_from_db()
    # Tests sign in and step up within the same 30 s: forget the last used step so the same
    # code is accepted again (replay protection is django-otp's, not what these tests check).
    TOTPDevice.objects.filter(pk=device.pk).update(
        last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
    )
    totp = TOTP(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{totp.token():0{device.digits}d}"


def login(client: Client, user: User, device: TOTPDevice, password: str = PASSWORD):
    return client.post(
        "/admin/login/",
        {
            "username": user.username,
            "password": password,
            "otp_token": totp_now(device),
            "next": "/admin/",
        },
    )


def browser_sign_in(page, user: User, device: TOTPDevice, next_url: str = "/admin/") -> None:
    """Sign `user` in through the admin's login form in a real browser (password and the
    device's current code), landing on `next_url`."""
    page.goto(f"/admin/login/?next={next_url}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.fill("#id_otp_token", totp_now(device))
    page.click("#login-form input[type=submit]")
    page.wait_for_url(f"**{next_url}")


def without_stepup(client: Client) -> Client:
    """The same signed-in, verified login under a new session key: the TOTP sign-in counts as a
    step-up only for the session it opened (core/stepup.py), so this one has no fresh code."""
    session = client.session
    session.cycle_key()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def stepup_now(client: Client, user: User) -> None:
    """A one-time code entered just now in `client`'s session."""
    from core.models import StepUpVerification

    StepUpVerification.objects.create(
        user=user, session_key=client.session.session_key, purpose="test"
    )


@pytest.fixture
def make_staff(system_user) -> Callable[..., tuple[User, TOTPDevice]]:
    counter = iter(range(1000))

    def make(role: str = "agent", username: str | None = None) -> tuple[User, TOTPDevice]:
        name = username or f"{role}{next(counter)}"
        return staff_upsert(
            actor=system_user, reason="test", username=name, role=role, password=PASSWORD
        )

    return make


@pytest.fixture
def staff_client(make_staff) -> Callable[..., tuple[Client, User, TOTPDevice]]:
    """A client signed in through /admin/login/ with password and TOTP (a verified session)."""

    def make(role: str = "agent") -> tuple[Client, User, TOTPDevice]:
        user, device = make_staff(role)
        client = Client()
        response = login(client, user, device)
        assert response.status_code == 302, response.content[:2000]
        assert response["Location"] == "/admin/"
        return client, user, device

    return make
