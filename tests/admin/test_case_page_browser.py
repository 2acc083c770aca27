"""A decided, reviewed dispute's case page in a real browser, in zh-hans and en: the review
request, the credit bureau's messages (read with their objection in one query), the drafter by
name and the canned replies offered from the shared cache (screenshots under SHOTS_DIR,
default /tmp/shots/case)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from complaints import services
from complaints.models import CannedReply
from complaints.services import conversation
from tests.factories.complaints import staff

from .conftest import browser_sign_in
from .test_case_page import _decided_and_closed

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots/case"))

WORDS = {"zh-hans": ("核查申请", "征信机构"), "en": ("Review requests", "Credit bureau")}


def test_a_reviewed_dispute_shows_its_review_bureau_and_replies(page, system_user, make_staff):
    SHOTS.mkdir(parents=True, exist_ok=True)
    drafter = staff("agent", username="drafter-b", first_name="起草人")
    case = _decided_and_closed(system_user, drafter, with_loans=True)
    services.review_request(
        complaint_id=case.pk, actor=case.customer.user, grounds="那笔不是我借的，有录音为证"
    )
    manager, device = make_staff("manager")
    language = case.customer.preferred_language
    conversation.canned_reply_save(
        reply=CannedReply(title="核查受理", language=language, body="{customer_name}您好"),
        actor=manager,
        reason="new",
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    browser_sign_in(page, manager, device)
    for lang, (reviews, bureau) in WORDS.items():
        page.goto(f"/admin/complaints/complaint/{case.pk}/change/?lang={lang}")
        assert page.get_by_role("heading", name=reviews).is_visible()
        assert page.get_by_text("那笔不是我借的，有录音为证").first.is_visible()
        table = page.locator("[data-testid=bureau]")
        assert table.is_visible() and table.locator("tbody tr").count() >= 1
        assert case.items.get().loan.reference in table.inner_text()
        assert page.get_by_role("heading", name=bureau).count() >= 1
        assert str(drafter) in page.locator("#content-main .module").first.inner_text()
        options = page.locator("select[name=canned_reply] option")
        assert "核查受理" in options.all_inner_texts()
        page.screenshot(path=str(SHOTS / f"case_reviewed_{lang}_desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SHOTS / f"case_reviewed_{lang}_phone.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
