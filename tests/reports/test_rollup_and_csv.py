"""The sweep keeps the rollup; the CSV is safe to open in a spreadsheet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backoffice.models import ComplaintDayFigures, ReportRollupDay
from backoffice.reports.base import Table
from backoffice.reports.complaint_figures import report_rollup_refresh
from backoffice.reports.export import table_csv
from backoffice.sweep import sweep_all
from complaints.enums import Category, Channel
from tests.reports.desk import Desk, local, today

pytestmark = pytest.mark.django_db


def test_the_sweep_rolls_up_closed_days_once(system_user):
    desk = Desk(system_user)
    desk.file(
        category=Category.BILLING,
        channel=Channel.PORTAL,
        received=local(today() - timedelta(days=3)),
    )
    results = sweep_all(now=timezone.now())
    assert results["reports"]["days"] == 3  # three closed days, today stays live
    assert ReportRollupDay.objects.filter(
        day=today() - timedelta(days=1), has_snapshot=True
    ).exists()
    row = ComplaintDayFigures.objects.get(day=today() - timedelta(days=3), root_cause="")
    assert (row.category, row.channel, row.received) == ("billing", "portal", 1)
    assert sweep_all(now=timezone.now())["reports"] == {"days": 0}


def test_rebuild_from_recomputes_later_days(system_user):
    desk = Desk(system_user)
    desk.file(
        category=Category.PRIVACY,
        channel=Channel.PORTAL,
        received=local(today() - timedelta(days=2)),
    )
    report_rollup_refresh(now=timezone.now())
    # A complaint typed in later with a receipt time on a day already rolled up:
    desk.file(
        category=Category.PRIVACY,
        channel=Channel.API,
        received=local(today() - timedelta(days=2), 11),
    )
    assert ComplaintDayFigures.objects.filter(channel="api").count() == 0
    report_rollup_refresh(now=timezone.now(), rebuild_from=today() - timedelta(days=2))
    assert ComplaintDayFigures.objects.get(channel="api").received == 1


def test_csv_has_a_bom_and_never_a_formula():
    table = Table("t", "t", [], [['=HYPERLINK("x")', "+1", "-2", "@a", "商户", 3, None]])
    text = table_csv(table)
    assert text.startswith("\ufeff")
    assert text.splitlines()[1] == """"'=HYPERLINK(""x"")",'+1,'-2,'@a,商户,3,"""
