"""The complaint reports (sla, volumes, root-causes), the regulatory return and the dashboard,
checked against hand-counted fixtures built through the services; the same figures again once
the daily rollup holds the closed days."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from backoffice.models import ComplaintDayFigures, ReportRollupDay
from backoffice.reports.complaint_figures import report_rollup_refresh
from backoffice.reports.params import week_start
from backoffice.reports.regulatory import COLUMNS, default_month
from complaints.enums import Category, Channel, ItemOutcome, Outcome, RootCause
from tests.reports.desk import Desk, local, today

pytestmark = pytest.mark.django_db


def table(response, key: str) -> list[list[str]]:
    """A table of the page, read back from its CSV (the same rows the page shows)."""
    assert response.status_code == 200
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def get_csv(client, name: str, query: str, key: str = "") -> list[list[str]]:
    url = f"/admin/reports/{name}/?{query}&format=csv" + (f"&table={key}" if key else "")
    return table(client.get(url), key)


def by_first(rows: list[list[str]]) -> dict[str, dict[str, str]]:
    header = rows[0]
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[1:]}


@pytest.fixture
def world(system_user):
    """Six complaints around W, the Monday four weeks ago (hand-counted in the tests)."""
    desk = Desk(system_user)
    w = week_start(today()) - timedelta(weeks=4)
    a = desk.file(
        category=Category.BILLING, channel=Channel.PHONE, received=local(w - timedelta(days=10))
    )
    desk.decide(a, at=local(w + timedelta(days=1)), root_cause=RootCause.OTHER)
    b = desk.file(
        category=Category.UNAUTHORIZED_LOAN,
        channel=Channel.PORTAL,
        received=local(w - timedelta(days=20)),
        loans=1,
    )
    desk.decide(b, at=local(w + timedelta(days=2)), root_cause=RootCause.MISSING_CONSENT)
    c = desk.file(
        category=Category.SERVICE, channel=Channel.API, received=local(w - timedelta(days=40))
    )
    desk.extend(c, twice=True)
    desk.pause_and_resume(c)
    desk.decide(
        c,
        at=local(w + timedelta(days=8)),
        root_cause=RootCause.RISK_MODEL_ERROR,
        outcome=Outcome.PARTIALLY_UPHELD,
    )
    desk.file(
        category=Category.BILLING, channel=Channel.PHONE, received=local(w + timedelta(days=3))
    )
    e = desk.file(
        category=Category.PRIVACY, channel=Channel.LETTER, received=local(w + timedelta(days=9))
    )
    desk.withdraw(e)
    desk.file(category=Category.BILLING, channel=Channel.PORTAL, received=timezone.now())
    return w


def _query(w) -> str:
    return f"from={w.isoformat()}&to={today().isoformat()}"


def check_sla(client, w) -> None:
    totals = get_csv(client, "sla", _query(w), "by_category")
    rows = by_first(totals)
    billing, loans, service = (
        rows[str(Category(c).label)] for c in ("billing", "unauthorized_loan", "service")
    )
    assert (billing["decided"], billing["on_time"], billing["late"], billing["within_15_days"]) == (
        "1",
        "1",
        "0",
        "1",
    )
    assert (loans["decided"], loans["on_time"], loans["late"], loans["within_15_days"]) == (
        "1",
        "0",
        "1",
        "0",
    )
    assert (loans["within_30_days"], loans["within_60_days"]) == ("1", "1")
    assert (service["within_30_days"], service["within_60_days"], service["over_60_days"]) == (
        "0",
        "1",
        "0",
    )
    assert (service["extended"], service["extended_twice"], service["paused"]) == ("1", "1", "1")
    assert rows[str(Category("privacy").label)]["decided"] == "0"  # withdrawn, not decided
    weeks = by_first(get_csv(client, "sla", _query(w)))
    assert (weeks[w.isoformat()]["decided"], weeks[w.isoformat()]["late"]) == ("2", "1")
    assert weeks[w.isoformat()]["on_time_rate"] == "50.0"
    assert weeks[(w + timedelta(days=7)).isoformat()]["decided"] == "1"
    assert sum(int(r["decided"]) for r in weeks.values()) == 3
    only_billing = by_first(get_csv(client, "sla", _query(w) + "&category=billing"))
    assert sum(int(r["decided"]) for r in only_billing.values()) == 1


def check_volumes(client, w) -> None:
    received = by_first(get_csv(client, "volumes", _query(w)))
    assert received[w.isoformat()]["billing"] == "1"
    assert received[(w + timedelta(days=7)).isoformat()]["privacy"] == "1"
    assert received[week_start(today()).isoformat()]["billing"] == "1"
    assert sum(int(r["total"]) for r in received.values()) == 3
    channels = by_first(get_csv(client, "volumes", _query(w), "received_by_channel"))
    assert {k: v["received"] for k, v in channels.items()} == {
        str(Channel.PORTAL.label): "1",
        str(Channel.API.label): "0",
        str(Channel.PHONE.label): "1",
        str(Channel.LETTER.label): "1",
        str(Channel.REGULATOR.label): "0",
    }
    queue = by_first(get_csv(client, "volumes", _query(w), "open_by_queue"))
    assert queue[str(Complaint_status_label("received"))]["open"] == "2"
    assert queue[str(Complaint_status_label("received"))]["overdue"] == "1"
    assert queue[str(Complaint_status_label("received"))]["unassigned"] == "2"


def Complaint_status_label(code: str) -> str:  # noqa: N802 - reads like the label it returns
    from complaints.enums import Status

    return str(Status(code).label)


def check_root_causes(client, w) -> None:
    causes = by_first(get_csv(client, "root-causes", _query(w), "by_root_cause"))
    decided = {k: v["decided"] for k, v in causes.items()}
    assert decided[str(RootCause.OTHER.label)] == "1"
    assert decided[str(RootCause.MISSING_CONSENT.label)] == "1"
    assert decided[str(RootCause.RISK_MODEL_ERROR.label)] == "1"
    assert decided[str(RootCause.THIRD_PARTY_FRAUD.label)] == "0"
    assert sum(int(v["upheld_or_partly"]) for v in causes.values()) == 2  # B upheld, C partly


def test_complaint_reports_live_then_from_the_rollup(staff_client, world):
    client, _user, _device = staff_client("manager")
    check_sla(client, world)
    check_volumes(client, world)
    check_root_causes(client, world)
    result = report_rollup_refresh(now=timezone.now())
    assert result["days"] > 40
    assert ReportRollupDay.objects.filter(day=today() - timedelta(days=1)).exists()
    assert not ReportRollupDay.objects.filter(day=today()).exists()
    assert ComplaintDayFigures.objects.filter(received__gt=0).count() >= 5
    assert report_rollup_refresh(now=timezone.now()) == {"days": 0}
    # The same figures, now read from the rollup (closed days) and live (today).
    check_sla(client, world)
    check_volumes(client, world)
    check_root_causes(client, world)


def test_dashboard_headlines(staff_client, world):
    client, _user, _device = staff_client("auditor")
    body = client.get("/admin/reports/?lang=en").content.decode()
    month_start = today().replace(day=1)
    decided_this_month = [d for d in (1, 2, 8) if world + timedelta(days=d) >= month_start]
    within_15 = 1 if world + timedelta(days=1) >= month_start else 0
    for key, value in [
        ("open", 2),
        ("overdue", 1),
        ("due_soon", 0),
        ("decided_within_15", within_15),
    ]:
        start = body.index(f'id="headline-{key}"')
        snippet = body[start : body.index("</a>", start)]
        assert f'<span class="headline-value">{value}</span>' in snippet, (key, snippet)
    assert f"of {len(decided_this_month)} decided" in body
    assert 'href="/admin/complaints/complaint/?queue=overdue"' in body
    assert body.count('<svg xmlns="http://www.w3.org/2000/svg" class="pygal-chart') == 2


@pytest.fixture
def month_world(system_user):
    desk = Desk(system_user)
    month = default_month(today())
    g = desk.file(
        category=Category.BILLING, channel=Channel.PHONE, received=local(month + timedelta(days=1))
    )
    desk.decide(g, outcome=Outcome.UPHELD, compensation=Decimal("100.00"))
    desk.move_decision(g, local(month + timedelta(days=5)))
    desk.file(
        category=Category.BILLING, channel=Channel.PHONE, received=local(month + timedelta(days=2))
    )
    i = desk.file(
        category=Category.UNAUTHORIZED_LOAN,
        channel=Channel.PORTAL,
        received=local(month + timedelta(days=3)),
        loans=2,
    )
    desk.decide(
        i,
        item_outcomes=[ItemOutcome.UPHELD, ItemOutcome.REJECTED],
        root_cause=RootCause.PARTNER_INTERFACE,
    )
    desk.review(i, changed=True, at=local(month + timedelta(days=8)))
    desk.move_decision(i, local(month + timedelta(days=6)))
    j = desk.file(category=Category.SERVICE, channel=Channel.API, received=local(month))
    desk.decide(j, outcome=Outcome.REJECTED)
    desk.review(j, changed=False, at=local(month + timedelta(days=26)))
    desk.move_decision(j, local(month + timedelta(days=25)))
    return month


def test_regulatory_return(staff_client, month_world):
    client, _user, _device = staff_client("manager")
    response = client.get(f"/admin/reports/regulatory-return/?month={month_world:%Y-%m}&format=csv")
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="regulatory-return_{month_world:%Y-%m}.csv"'
    )
    rows = table(response, "")
    assert rows[0] == COLUMNS
    assert len(rows) == 1 + len(Channel.values) * len(Category.values)
    cells = {(r[1], r[2]): dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    phone_billing = cells[("phone", "billing")]
    assert phone_billing["month"] == f"{month_world:%Y-%m}"
    assert [phone_billing[k] for k in COLUMNS[3:]] == [
        "2",
        "1",
        "1",
        "",
        "1",
        "1",
        "100.00",
        "0",
        "0",
        "0",
    ]
    portal_loans = cells[("portal", "unauthorized_loan")]
    assert [portal_loans[k] for k in COLUMNS[3:]] == [
        "1",
        "1",
        "1",
        "",
        "1",
        "0",
        "0.00",
        "1",
        "1",
        "0",
    ]
    api_service = cells[("api", "service")]
    assert [api_service[k] for k in COLUMNS[3:]] == [
        "1",
        "1",
        "0",
        "",
        "0",
        "0",
        "0.00",
        "1",
        "0",
        "0",
    ]
    assert cells[("letter", "privacy")]["received"] == "0"
    assert {r["regulator_referrals"] for r in cells.values()} == {"0"}  # no referral filed
    page = client.get(
        f"/admin/reports/regulatory-return/?month={month_world:%Y-%m}"
    ).content.decode()
    assert "overdue_open" in page  # the note says why the column is empty


def test_regulatory_return_of_this_month_counts_overdue_now(staff_client, system_user):
    desk = Desk(system_user)
    start = today().replace(day=1)
    received = local(start) if start < today() else timezone.now()
    desk.file(
        category=Category.PRIVACY, channel=Channel.LETTER, received=received - timedelta(days=30)
    )
    client, _user, _device = staff_client("manager")
    rows = table(
        client.get(f"/admin/reports/regulatory-return/?month={today():%Y-%m}&format=csv"), ""
    )
    cells = {(r[1], r[2]): dict(zip(COLUMNS, r, strict=True)) for r in rows[1:]}
    assert cells[("letter", "privacy")]["overdue_open"] == "1"
    assert cells[("letter", "billing")]["overdue_open"] == "0"
