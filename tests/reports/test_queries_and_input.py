"""Each report runs a fixed number of queries at two data sizes (and once the rollup holds the
closed days); bad input never fails a page: a note says what was left out or clamped."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import RequestFactory
from django.utils import timezone

from backoffice.reports import REPORTS
from backoffice.reports.complaint_figures import report_rollup_refresh
from backoffice.reports.dashboard import QUERIES as DASHBOARD_QUERIES
from backoffice.reports.dashboard import dashboard
from backoffice.reports.params import MAX_RANGE_DAYS, report_params
from backoffice.reports.regulatory import default_month
from closures.enums import AppealStatus
from complaints.enums import Category, Channel, RootCause
from tests.reports.desk import Desk, local, today

pytestmark = pytest.mark.django_db


def _grow(desk: Desk, n: int, offset: int) -> None:
    """n more of everything the reports count: disputes decided, open cases, closures, appeals."""
    for i in range(offset, offset + n):
        dispute = desk.file(
            category=Category.UNAUTHORIZED_LOAN,
            received=timezone.now() - timedelta(days=3 + i),
            loans=2,
            partner_interface=f"PI-{i:03d}",
            merchant=f"商户{i}",
        )
        desk.decide(dispute, root_cause=RootCause.PARTNER_INTERFACE)
        desk.file(
            category=Category.BILLING,
            channel=Channel.PHONE,
            received=local(today() - timedelta(days=20 + i)),
        )
        _account, closure = desk.closed_account()
        desk.appeal(closure, outcome=AppealStatus.DISMISSED if i % 2 else None)


def _builds():
    now = timezone.now()
    for name, report in REPORTS.items():
        params = report_params({}, today=today(), filters=report.filters(), ranged=report.ranged)
        if not report.ranged:
            params.filters["month"] = default_month(today())
        yield name, report.queries, lambda report=report, params=params: report.build(params, now)
    yield "dashboard", DASHBOARD_QUERIES, lambda: dashboard(now)


def _check_counts(django_assert_num_queries) -> None:
    for name, expected, build in _builds():
        with django_assert_num_queries(expected):
            result = build()
        assert result, name


def test_fixed_query_count_at_two_sizes(system_user, django_assert_num_queries):
    desk = Desk(system_user)
    _grow(desk, 1, 0)
    _check_counts(django_assert_num_queries)
    _grow(desk, 3, 1)
    _check_counts(django_assert_num_queries)
    report_rollup_refresh(now=timezone.now())
    _check_counts(django_assert_num_queries)


def test_a_whole_page_costs_the_same_at_two_sizes(staff_client, system_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, _user, _device = staff_client("manager")
    desk = Desk(system_user)
    counts = []
    for n, offset in ((1, 0), (2, 1)):
        _grow(desk, n, offset)
        with CaptureQueriesContext(connection) as ctx:
            for name in [*REPORTS, ""]:
                assert client.get(f"/admin/reports/{name + '/' if name else ''}").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


@pytest.fixture
def manager(staff_client):
    client, _user, _device = staff_client("manager")
    return client


def _page(client, query: str, name: str = "sla") -> str:
    response = client.get(f"/admin/reports/{name}/?lang=en&{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_start_after_end_is_swapped_and_said(manager):
    body = _page(manager, "from=2026-03-31&to=2026-03-01")
    assert "The start date was after the end date: the two were swapped." in body
    assert "From 2026-03-01 to 2026-03-31" in body


@pytest.mark.parametrize(
    "raw", ["2026-02-30", "yesterday", "2026-1-5", "20260105", "2026-W01-1", "\x07"]
)
def test_impossible_dates_are_left_out(manager, raw):
    body = _page(manager, f"from={quote(raw)}")
    assert "is not a date (YYYY-MM-DD): the start date was left out." in body


def test_ten_years_are_clamped_to_two(manager):
    body = _page(manager, f"from=2016-01-01&to={today().isoformat()}")
    start = today() - timedelta(days=MAX_RANGE_DAYS - 1)
    assert (
        f"A report covers at most two years: showing {start.isoformat()} to {today().isoformat()}."
        in body
    )
    assert "by month" in body


def test_a_range_in_the_future_ends_today(manager):
    body = _page(manager, "from=2099-01-01&to=2099-02-01")
    assert "The range ends today at the latest" in body


@pytest.mark.parametrize(
    "query, note",
    [
        ("colour=red", "This report has no filter “colour”: it was left out."),
        ("category=bogus", "“bogus” is not a known Category: that filter was left out."),
        ("format=xlsx", "Only format=csv is offered: the page is shown instead."),
    ],
)
def test_unknown_filters_and_values_are_said(manager, query, note):
    assert note in _page(manager, query)


def test_text_filter_with_control_characters(manager):
    body = _page(manager, "merchant=%07abc", name="disputes")
    assert "holds control characters: it was left out." in body


def test_a_nul_byte_is_refused_before_the_report(manager):
    # The site's NulByteMiddleware answers 400 for a NUL anywhere in the query: never a 500.
    assert manager.get("/admin/reports/disputes/?merchant=%00abc").status_code == 400


def test_csv_of_an_unknown_table_is_a_clear_400(manager):
    response = manager.get("/admin/reports/sla/?format=csv&table=nope&lang=en")
    assert response.status_code == 400
    assert (
        "This report has no table “nope”; its tables are: by_period, by_category."
        in response.content.decode()
    )


@pytest.mark.parametrize("raw", ["2026-13", "2999-01", "last", "1999-12"])
def test_bad_month_of_the_return(manager, raw):
    body = _page(manager, f"month={raw}", name="regulatory-return")
    assert "is not a past month (YYYY-MM): the last full month is shown." in body


def test_an_empty_range_draws_no_data(manager):
    for name in REPORTS:
        query = "month=2001-01" if name == "regulatory-return" else "from=2001-01-01&to=2001-01-31"
        body = _page(manager, query, name=name)
        assert 'class="no_data">No data</text>' in body, name


def test_params_default_to_twelve_weeks_from_a_monday():
    params = report_params(RequestFactory().get("/").GET, today=today())
    assert params.start.weekday() == 0 and params.end == today()
    assert len(params.periods()) == 12 and params.notes == []
