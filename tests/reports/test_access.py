"""Managers and auditors read the reports; agents, reviewers and risk officers get 403 on every
page (dashboard, each report, its CSV, the stylesheet)."""

from __future__ import annotations

import re

import pytest

from backoffice.reports import REPORTS

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/reports/",
    "/admin/reports/charts.css",
    *(f"/admin/reports/{name}/" for name in REPORTS),
    *(f"/admin/reports/{name}/?format=csv" for name in REPORTS),
]


@pytest.mark.parametrize("role", ["manager", "auditor"])
def test_readers_see_every_page(staff_client, role):
    client, _user, _device = staff_client(role)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assert response["Cache-Control"].startswith(("no-store", "private")), url


@pytest.mark.parametrize("role", ["agent", "reviewer", "risk_officer"])
def test_other_staff_get_403(staff_client, role):
    client, _user, _device = staff_client(role)
    for url in PAGES:
        assert client.get(url).status_code == 403, url


def test_anonymous_goes_to_login(client):
    response = client.get("/admin/reports/sla/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_unknown_report_is_404(staff_client):
    client, _user, _device = staff_client("manager")
    assert client.get("/admin/reports/nonsense/").status_code == 404


def test_pages_hold_a_strict_csp_and_no_script_in_charts(staff_client):
    client, _user, _device = staff_client("manager")
    for url in ["/admin/reports/", *(f"/admin/reports/{name}/" for name in REPORTS)]:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
        assert "unsafe-inline" not in policy
        body = response.content.decode()
        charts = re.findall(r'<svg[^>]*class="pygal-chart.*?</svg>', body, flags=re.S)
        assert charts, url
        for chart in charts:
            assert "<script" not in chart and "<style" not in chart and "style=" not in chart, url
        assert "<script>" not in body and " style=" not in body.split("<body", 1)[1], url
        assert "kozea.github.io" not in body and "pygal.js" not in body, url
