"""Errors in the portal's own layout that keep what was typed (issue 13 item 13): 400, 403 (and
an expired form), 404, 413, 500; the admin and the API keep theirs; the lockout page."""

from __future__ import annotations

import sys

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.utils import translation

from backoffice.middleware import server_error
from closures.models import Appeal
from tests.factories import CreditAccountFactory, StaffFactory
from tests.factories.closures import closed_by_risk, staff
from tests.factories.portal import PASSWORD, customer_with_account

pytestmark = pytest.mark.django_db

GROUNDS = "我没有逾期，这是银行系统的错误，请重新核对我的还款记录。"


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(message)


def in_portal_layout(response) -> str:
    body = response.content.decode()
    assert "/static/portal/portal.css" in body
    assert 'lang="zh-hans"' in body
    return body


def test_404_is_a_portal_page(client):
    customer, _, _ = customer_with_account()
    client.force_login(customer.user)
    response = client.get("/portal/no-such-page/")
    assert response.status_code == 404
    body = in_portal_layout(response)
    assert 'data-testid="error-404"' in body
    assert zh("Page not found") in body
    assert 'data-testid="nav-accounts"' in body  # the signed-in customer keeps the menu


def test_another_customers_account_is_the_portal_404(client):
    customer, _, _ = customer_with_account()
    _, other, _ = customer_with_account()
    client.force_login(customer.user)
    response = client.get(f"/portal/accounts/{other.pk}/")
    assert response.status_code == 404
    assert 'data-testid="error-404"' in in_portal_layout(response)


def test_admin_and_api_keep_their_own_404(client):
    response = client.get("/admin/no-such-page/")
    assert response.status_code in (302, 404)
    assert "/static/portal/portal.css" not in response.content.decode()
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert "/static/portal/portal.css" not in response.content.decode()


def test_400_is_a_portal_page(client):
    response = client.get("/portal/login/?next=%00")
    assert response.status_code == 400
    body = in_portal_layout(response)
    assert 'data-testid="error-400"' in body
    assert zh("We could not read what was sent") in body


def test_expired_form_is_a_403_that_keeps_what_was_typed():
    customer, account, _ = customer_with_account()
    client = Client(enforce_csrf_checks=True)
    client.force_login(customer.user)
    response = client.post(
        "/portal/complaints/new/",
        {"category": "other", "account": account.pk, "description": GROUNDS},
    )
    assert response.status_code == 403 and response["X-CSRF-Failure"] == "true"
    body = in_portal_layout(response)
    assert zh("This page has expired") in body
    assert GROUNDS in body  # shown back to copy, and carried by the "send again" form
    assert 'data-testid="resubmit-form"' in body and 'action="/portal/complaints/new/"' in body
    assert 'name="csrfmiddlewaretoken"' in body


def test_portal_500_keeps_what_was_typed():
    request = RequestFactory().post(
        "/portal/complaints/new/",
        {"description": GROUNDS, "password": "secret-pass-1", "category": "other"},
    )
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        assert sys.exc_info()[0] is RuntimeError
        response = server_error(request)
    assert response.status_code == 500
    body = response.content.decode()
    assert "/static/portal/portal.css" in body and zh("Something went wrong on our side") in body
    assert GROUNDS in body
    assert "secret-pass-1" not in body  # passwords and codes are never written back


def test_admin_500_is_not_the_portal_page():
    request = RequestFactory().get("/admin/")
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(request)
    assert response.status_code == 500
    assert "/static/portal/portal.css" not in response.content.decode()


# --- Too large --------------------------------------------------------------------------------


@pytest.fixture
def closed_account(system_user):
    account = CreditAccountFactory()
    closure = closed_by_risk(
        account=account, proposer=staff("agent"), approver=staff("reviewer"), actor=system_user
    )
    return account, closure


def test_a_6_mb_attachment_keeps_the_grounds_with_a_field_error(client, closed_account):
    account, closure = closed_account
    client.force_login(account.customer.user)
    big = SimpleUploadedFile(
        "scan.pdf", b"%PDF-1.4\n" + b"0" * (6 * 1024 * 1024), "application/pdf"
    )
    response = client.post(
        f"/portal/appeals/new/?closure={closure.pk}", {"grounds": GROUNDS, "attachment": big}
    )
    assert response.status_code == 200  # the form again, not a bare 413
    body = in_portal_layout(response)
    assert GROUNDS in body  # in the grounds field, ready to send with a smaller file
    assert 'data-testid="error-summary"' in body
    assert 'data-testid="field-error-attachment"' in body
    assert not Appeal.objects.filter(closure=closure).exists()


def test_a_body_over_the_upload_margin_is_the_portal_413(client, closed_account):
    account, closure = closed_account
    client.force_login(account.customer.user)
    response = client.post(
        f"/portal/appeals/new/?closure={closure.pk}",
        data=b"x",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(settings.PORTAL_UPLOAD_MAX_BODY_BYTES + 1),
    )
    assert response.status_code == 413
    body = in_portal_layout(response)
    assert 'data-testid="error-413"' in body
    assert zh("What you sent is too large") in body


def test_the_413_page_follows_the_chosen_language(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post(
        "/portal/login/",
        data=b"x" * (settings.MAX_REQUEST_BODY_BYTES + 1),
        content_type="text/plain",
    )
    assert response.status_code == 413
    body = response.content.decode()
    assert 'lang="en"' in body and "What you sent is too large" in body


def test_an_over_large_text_body_is_still_refused_up_front(client):
    # Only multipart portal forms get the margin; the limit stays for everything else.
    response = client.post(
        "/portal/login/",
        data=b"x" * (settings.MAX_REQUEST_BODY_BYTES + 1),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413


def test_the_complaint_description_limit_is_a_field_error_not_a_cut(client):
    customer, account, _ = customer_with_account()
    client.force_login(customer.user)
    text = "字" * 4001
    response = client.post(
        "/portal/complaints/new/", {"category": "other", "account": account.pk, "description": text}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="field-error-description"' in body
    assert text in body  # kept whole in the field, nothing cut
    assert "Ensure this value" not in body


# --- Lockout ----------------------------------------------------------------------------------


def test_portal_lockout_page_is_styled_and_offers_a_reset(client):
    customer, _, _ = customer_with_account()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/portal/login/", {"username": customer.user.username, "password": "wrong"})
    response = client.post(
        "/portal/login/", {"username": customer.user.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    body = response.content.decode()
    assert "/static/portal/portal.css" in body and 'data-testid="locked-out"' in body
    assert 'href="/portal/password-reset/"' in body
    assert zh("Too many failed sign-in attempts. Try again in 15 minutes.") in body
    # The portal's language switch and footer, as on every other portal page.
    assert 'href="/portal/login/?lang=en"' in body and 'class="site-footer"' in body


def test_admin_lockout_page_offers_no_customer_reset(client):
    user = StaffFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = client.post(
            "/admin/login/", {"username": user.username, "password": "wrong", "otp_token": "1"}
        )
    assert response.status_code == 429
    assert "/portal/password-reset/" not in response.content.decode()


# --- Favicon and "View site" ------------------------------------------------------------------


def test_favicon_is_linked_from_portal_and_admin_and_served(client):
    icon = "/static/portal/favicon.svg"
    assert f'href="{icon}"' in client.get("/portal/login/").content.decode()
    assert f'href="{icon}"' in client.get("/admin/login/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].startswith("/static/portal/favicon")
    path = settings.BASE_DIR / "backoffice" / "static" / "portal" / "favicon.svg"
    assert path.read_text().startswith("<svg")


def test_admin_view_site_leads_to_the_portal():
    from django.contrib import admin

    assert admin.site.site_url == "/portal/"
