"""The staff sign-in in a real browser: first login, QR enrollment, backup codes, admin index."""

from __future__ import annotations

import pytest

from core.models import StaffTOTPDevice as TOTPDevice
from tests.factories import StaffFactory

from .conftest import PASSWORD, totp_now

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_first_login_enrolls_in_the_browser(page):
    user = StaffFactory(role="reviewer", password=PASSWORD)
    user.set_password(PASSWORD)
    user.save()
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form input[type=submit]")
    page.wait_for_url("**/admin/enroll/")
    assert page.locator(".otp-qr svg").count() == 1
    secret = page.inner_text(".otp-secret")
    assert len(secret) >= 16

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page.fill("#id_otp_token", totp_now(device))
    page.click("#enroll-form input[type=submit]")
    page.wait_for_selector(".backup-codes")
    assert page.locator(".backup-codes li").count() == 10
    page.click("a.button.default")
    page.wait_for_url("**/admin/")
    assert page.locator("#site-name").count() == 1
    assert page.locator("a[href='/admin/accounts/customer/']").count() >= 1
