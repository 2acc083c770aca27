"""Issue 14 item 4: a staff member's right password answers exactly like a wrong one on the
customer API and the portal sign-in (no 403 that confirms the password), and counts toward the
same lockout."""

from __future__ import annotations

import re

import pytest

from tests.factories import StaffFactory
from tests.factories.portal import PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
LOGIN = "/portal/login/"


def _token(api_client, username, password):
    return api_client.post(TOKEN, {"username": username, "password": password}, format="json")


def test_api_answers_a_right_staff_password_like_a_wrong_one(api_client):
    staff = StaffFactory(role="manager")
    right = _token(api_client, staff.username, PASSWORD)
    wrong = _token(api_client, staff.username, "not-the-password")
    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()
    assert right.json()["error"]["code"] == "invalid_credentials"


def test_api_right_staff_passwords_count_toward_the_lockout(api_client):
    staff = StaffFactory(role="agent")
    for _i in range(4):
        assert _token(api_client, staff.username, PASSWORD).status_code == 400
    # The fifth attempt locks out, as five wrong passwords do.
    assert _token(api_client, staff.username, PASSWORD).status_code == 429


def _form_page(response) -> str:
    """The page without its per-request CSRF token."""
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_portal_answers_a_right_staff_password_like_a_wrong_one(client):
    staff = StaffFactory(role="agent")
    right = client.post(LOGIN, {"username": staff.username, "password": PASSWORD})
    wrong = client.post(LOGIN, {"username": staff.username, "password": "not-the-password"})
    assert right.status_code == wrong.status_code == 200
    assert "_auth_user_id" not in client.session
    assert _form_page(right) == _form_page(wrong)
    assert right.context["form"].errors.as_data()["__all__"][0].code == "invalid_login"


def test_portal_right_staff_passwords_count_toward_the_lockout(client):
    staff = StaffFactory(role="agent")
    for _i in range(4):
        assert (
            client.post(LOGIN, {"username": staff.username, "password": PASSWORD}).status_code
            == 200
        )
    assert client.post(LOGIN, {"username": staff.username, "password": PASSWORD}).status_code == 429
