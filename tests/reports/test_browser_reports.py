"""A manager in a real browser: the dashboard, a headline figure into its report, another range,
the CSV downloaded and opened (UTF-8 with BOM). No Content-Security-Policy violation on the way.
Screenshots (desktop and a 390×844 phone) go to /tmp/reports-shots/."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from complaints.enums import Category, Channel, RootCause
from tests.admin.conftest import browser_sign_in
from tests.reports.desk import Desk, local, today

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/reports-shots")


def _seed(system_user) -> None:
    desk = Desk(system_user)
    for days, category, channel in [
        (3, Category.BILLING, Channel.PORTAL),
        (10, Category.UNAUTHORIZED_LOAN, Channel.PORTAL),
        (20, Category.SERVICE, Channel.PHONE),
        (40, Category.PRIVACY, Channel.LETTER),
    ]:
        complaint = desk.file(
            category=category,
            channel=channel,
            received=timezone.now() - timedelta(days=days),
            loans=1 if category == Category.UNAUTHORIZED_LOAN else 0,
            partner_interface="PI-007" if category == Category.UNAUTHORIZED_LOAN else "",
        )
        if days >= 10:
            desk.decide(complaint, root_cause=RootCause.PARTNER_INTERFACE)
    desk.file(
        category=Category.BILLING, channel=Channel.API, received=local(today() - timedelta(days=25))
    )


def _sign_in(page, make_staff) -> None:
    user, device = make_staff("manager")
    browser_sign_in(page, user, device, "/admin/reports/")


def test_manager_dashboard_report_range_and_csv(page, make_staff, system_user):
    SHOTS.mkdir(exist_ok=True)
    _seed(system_user)
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    _sign_in(page, make_staff)

    assert page.locator(".headline").count() == 9
    assert page.locator("svg.pygal-chart").count() == 2
    assert page.inner_text("#headline-open .headline-value") == "2"
    page.screenshot(path=str(SHOTS / "dashboard-desktop.png"), full_page=True)

    page.click("#headline-decided_within_15")
    page.wait_for_url("**/admin/reports/sla/**")
    assert page.locator("svg.pygal-chart").count() == 1
    assert page.locator("#table-by_category").count() == 1
    page.screenshot(path=str(SHOTS / "sla-desktop.png"), full_page=True)

    start = (today() - timedelta(weeks=8)).isoformat()
    page.fill("input[name=from]", start)
    page.fill("input[name=to]", today().isoformat())
    page.click("#report-filters input[type=submit]")
    page.wait_for_url(f"**from={start}**")
    assert start in page.inner_text(".report-range")
    assert page.inner_text(".report-totals div:first-child dd") == "3"

    with page.expect_download() as download:
        page.click("#download-csv")
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["week", "decided", "on_time"]
    assert sum(int(r[1]) for r in rows[1:]) == 3
    assert download.value.suggested_filename == f"sla_{start}_{today().isoformat()}.csv"

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "sla-phone.png"), full_page=True)
    page.goto("/admin/reports/")
    page.screenshot(path=str(SHOTS / "dashboard-phone.png"), full_page=True)
    page.goto("/admin/reports/disputes/?lang=en")
    page.screenshot(path=str(SHOTS / "disputes-phone-en.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/reports/volumes/?lang=zh-hans")
    page.screenshot(path=str(SHOTS / "volumes-desktop.png"), full_page=True)
    assert violations == []
