"""Audits overdue (none in 12 months, or never): the partner-audits report (chart, tables, CSV)
and the dashboard's headline figure."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.enums import PartnerAuditResult
from accounts.services import partners as svc
from backoffice.reports import REPORTS
from backoffice.reports.dashboard import dashboard
from backoffice.reports.params import report_params

from .conftest import register

pytestmark = pytest.mark.django_db


def _audit(actor, interface, days_ago, result=PartnerAuditResult.PASSED):
    svc.partner_interface_audit_record(
        actor=actor,
        reason=f"audit {days_ago} days ago",
        interface_id=interface.pk,
        audited_on=timezone.localdate() - timedelta(days=days_ago),
        result=result,
    )


@pytest.fixture
def register_with_audits(manager):
    fresh = register(manager, code="PI-FRESH")
    _audit(manager, fresh, 10)
    old = register(manager, code="PI-OLD")
    _audit(manager, old, 500, PartnerAuditResult.FINDINGS)
    _audit(manager, old, 400, PartnerAuditResult.FINDINGS)  # the latest counts
    register(manager, code="PI-NEVER")
    edge = register(manager, code="PI-EDGE")
    _audit(manager, edge, 364)  # within 12 months
    retired = register(manager, code="PI-RETIRED")
    svc.partner_interface_retire(actor=manager, reason="ended", interface_id=retired.pk)
    return manager


def test_report_lists_overdue_first_with_figures(register_with_audits, django_assert_num_queries):
    report = REPORTS["partner-audits"]
    params = report_params({}, today=timezone.localdate(), filters=report.filters())
    with django_assert_num_queries(report.queries), translation.override("en"):
        result = report.build(params, timezone.now())
    interfaces = result.tables[0]
    codes = [row[0] for row in interfaces.rows]
    assert codes == ["PI-NEVER", "PI-OLD", "PI-EDGE", "PI-FRESH"]  # retired left out
    states = {row[0]: row[6] for row in interfaces.rows}
    assert states == {
        "PI-NEVER": "Never audited",
        "PI-OLD": "Last audit older than 12 months",
        "PI-EDGE": "Audited within 12 months",
        "PI-FRESH": "Audited within 12 months",
    }
    days = {row[0]: row[5] for row in interfaces.rows}
    assert (days["PI-NEVER"], days["PI-OLD"], days["PI-EDGE"]) == (None, 400, 364)
    assert [(str(k), v) for k, v in result.totals][:2] == [
        ("Interfaces in use", 4),
        ("Audits overdue (none in 12 months)", 2),
    ]
    # the chart's own table
    assert [row[1] for row in result.charts[0].table.rows] == [2, 1, 1]


def test_report_page_and_csv(register_with_audits, staff_client):
    client, _manager, _ = staff_client("manager")
    page = client.get("/admin/reports/partner-audits/?lang=en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "svg" in html and "PI-NEVER" in html and "PI-RETIRED" not in html
    response = client.get("/admin/reports/partner-audits/?format=csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["code", "partner", "status"]
    assert [r[0] for r in rows[1:]] == ["PI-NEVER", "PI-OLD", "PI-EDGE", "PI-FRESH"]
    audits = client.get("/admin/reports/partner-audits/?format=csv&table=audits")
    # the default range is the last 12 weeks: one audit in it (10 days ago)
    lines = list(csv.reader(io.StringIO(audits.content.decode("utf-8-sig"))))
    assert [line[1] for line in lines[1:]] == ["PI-FRESH"]
    # agents do not read the reports
    agent_client, _agent, _ = staff_client("agent")
    assert agent_client.get("/admin/reports/partner-audits/").status_code == 403


def test_dashboard_headline(register_with_audits, staff_client):
    headlines, _charts = dashboard(timezone.now())
    overdue = {h.key: h for h in headlines}["partner_audits_overdue"]
    assert overdue.value == 2
    assert overdue.url == "/admin/reports/partner-audits/"
    client, _manager, _ = staff_client("manager")
    html = client.get("/admin/reports/").content.decode()
    match = re.search(
        r'id="headline-partner_audits_overdue"[^>]*>\s*<span class="headline-value">(\d+)', html
    )
    assert match and match.group(1) == "2"
