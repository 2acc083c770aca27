"""No English on a zh-hans portal page (issue 13 item 15): every page a customer meets is walked
in zh-hans, with form errors shown, and its visible text (tags, scripts and attribute values
left out) must hold no English word beyond the few names that are the same in both languages."""

from __future__ import annotations

import html
import os
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closures.models import ClosureRequest
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, staff
from tests.factories.complaints import account_with_loans, dispute
from tests.factories.portal import customer_with_account, portal_notice

pytestmark = pytest.mark.django_db

# Written the same in Chinese text: file formats, units, the language switch, app, IDs.
SAME_IN_BOTH = {"English", "PDF", "JPEG", "PNG", "MB", "App", "SMS"}
WORD = re.compile(r"[A-Za-z][A-Za-z']{2,}")


def english_words(page: str) -> list[str]:
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    text = re.sub(r"<textarea\b.*?</textarea>", " ", text, flags=re.S | re.I)  # typed by people
    text = re.sub(r"<[^>]+>", " ", text)
    text = html.unescape(text)
    text = re.sub(r"https?://\S+|/portal/\S*", " ", text)  # addresses are not words
    # References and masked numbers (CP2026..., LN..., AP...) are codes, not words.
    text = re.sub(r"\b[A-Z]{2}[A-Z0-9-]{6,}\b", " ", text)
    return sorted({w for w in WORD.findall(text) if w not in SAME_IN_BOTH})


def test_the_check_sees_english():
    assert english_words("<p>您好 <b>Attachment</b> content type: PDF</p>") == [
        "Attachment",
        "content",
        "type",
    ]


@pytest.fixture
def walked(client, system_user, settings):
    """(name, response) for every portal page of a customer with a loan, a complaint, a closure
    waiting for its code and a closed account with an appeal form; and the anonymous pages."""
    extra = os.environ.get("PORTAL_EXTRA_LOCALE")  # a catalog with msgids not yet merged
    if extra:
        settings.LOCALE_PATHS = [extra, *settings.LOCALE_PATHS]
    pages = []

    def get(name, path, **kwargs):
        pages.append((name, client.get(path, **kwargs)))

    def post(name, path, data):
        pages.append((name, client.post(path, data)))

    get("login", "/portal/login/")
    post("login errors", "/portal/login/", {"username": "nobody", "password": "wrong"})
    get("password reset", "/portal/password-reset/")
    post("password reset errors", "/portal/password-reset/", {"username": ""})
    post("password reset sent", "/portal/password-reset/", {"username": "nobody"})
    get("password reset code", "/portal/password-reset/code/")
    post(
        "password reset code errors",
        "/portal/password-reset/code/",
        {"code": "12", "new_password1": "1", "new_password2": "2"},
    )
    get("account secured", "/portal/account-secured/?complaint=CP20260101ABCDEF")

    account, loans = account_with_loans(actor=system_user)
    complaint = dispute(account=account, loans=loans[:1])
    user = account.customer.user
    portal_notice(user=user, subject="投诉已受理", body="我们已收到您的投诉。")
    client.force_login(user)
    get("accounts", "/portal/")
    get("account", f"/portal/accounts/{account.pk}/")
    get("messages", "/portal/messages/")
    get("complaint new", "/portal/complaints/new/")
    post("complaint new errors", "/portal/complaints/new/", {"description": "x" * 4001})
    get("complaint", f"/portal/complaints/{complaint.reference}/")
    get("complaints", "/portal/complaints/")
    get("password", "/portal/password/")
    post("password errors", "/portal/password/", {"old_password": "x", "new_password1": "1"})
    get("not found", "/portal/no-such-page/")
    get("close", f"/portal/accounts/{account.pk}/close/")
    post("close errors", f"/portal/accounts/{account.pk}/close/", {})

    customer, active, _ = customer_with_account()
    client.force_login(customer.user)
    client.post(f"/portal/accounts/{active.pk}/close/", {"channel": "sms", "understood": "on"})
    closure = ClosureRequest.objects.get(account=active)
    get("closure confirm", f"/portal/closures/{closure.pk}/confirm/")
    post("closure confirm errors", f"/portal/closures/{closure.pk}/confirm/", {"otp": "12"})
    post("closure confirm wrong", f"/portal/closures/{closure.pk}/confirm/", {"otp": "000000"})
    get("closure", f"/portal/closures/{closure.pk}/")

    closed = CreditAccountFactory()
    risk = closed_by_risk(
        account=closed, proposer=staff("agent"), approver=staff("reviewer"), actor=system_user
    )
    client.force_login(closed.customer.user)
    get("closed account", f"/portal/accounts/{closed.pk}/")
    get("appeal new", f"/portal/appeals/new/?closure={risk.pk}")
    post(
        "appeal new errors",
        f"/portal/appeals/new/?closure={risk.pk}",
        {"grounds": "有误", "attachment": SimpleUploadedFile("x.png", b"GIF89a-not-png")},
    )
    return pages


def test_no_english_on_a_zh_hans_portal_page(walked):
    found = {}
    for name, response in walked:
        assert response.status_code in (200, 302, 404), (name, response.status_code)
        if response.status_code == 302:
            continue
        words = english_words(response.content.decode())
        if words:
            found[name] = words
    assert not found, "English on zh-hans pages:\n" + "\n".join(
        f"{name}: {' '.join(words)}" for name, words in found.items()
    )
