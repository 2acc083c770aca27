"""The customer's whole relationship in a real browser: from a repeat complaint's case page to
the customer page, in zh-hans and en, at desktop and phone widths (screenshots under
SHOTS_DIR, default /tmp/shots/custd)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import browser_sign_in
from .test_customer_page import _relationship

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots/custd"))


def test_from_the_case_to_the_whole_relationship(page, system_user, make_staff):
    SHOTS.mkdir(parents=True, exist_ok=True)
    customer, _accounts, complaints, _closure, appeal = _relationship(system_user)
    repeat = max(complaints[:3], key=lambda c: c.repeat_count)
    assert repeat.repeat_count == 1
    user, device = make_staff("agent")

    page.set_viewport_size({"width": 1280, "height": 900})
    browser_sign_in(page, user, device)

    # The queue flags the repeat; the case page links the earlier one and the customer.
    page.goto("/admin/complaints/complaint/")
    assert page.locator(".repeat-badge").count() == 1
    page.screenshot(path=str(SHOTS / "queue_repeat_zh_desktop.png"))
    page.goto(f"/admin/complaints/complaint/{repeat.pk}/change/")
    assert page.locator("[data-testid=repeat-complaint] a").count() == 1
    page.screenshot(path=str(SHOTS / "case_repeat_zh_desktop.png"), full_page=True)
    page.click("[data-testid=customer-page]")
    page.wait_for_url(f"**/admin/accounts/customer/{customer.pk}/change/")

    for lang in ("zh-hans", "en"):
        page.goto(f"/admin/accounts/customer/{customer.pk}/change/?lang={lang}")
        for key in ("accounts", "loans", "complaints", "closures", "appeals", "notices"):
            assert page.locator(f"[data-testid=section-{key}]").is_visible(), key
        assert (
            page.locator("[data-testid=section-appeals]").get_by_text(appeal.reference).is_visible()
        )
        assert page.get_by_text(customer.phone).count() == 0  # masked
        for name, size in (("desktop", (1280, 900)), ("phone", (390, 844))):
            page.set_viewport_size({"width": size[0], "height": size[1]})
            page.screenshot(path=str(SHOTS / f"customer_{lang}_{name}.png"), full_page=True)
        # On a phone the tables scroll sideways inside their section, the page does not.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        page.locator("#rel-complaints").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"customer_{lang}_phone_complaints.png"))
        page.set_viewport_size({"width": 1280, "height": 900})
    # The section index jumps to a section.
    page.click("a[href='#rel-complaints']")
    assert page.locator("#rel-complaints").is_visible()
