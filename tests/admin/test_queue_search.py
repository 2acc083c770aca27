"""The queue's one search box (complaints/search.py): reference prefix in any case, customer name
(prefix, or a substring of 3+ characters), exact phone or national ID (blind index), loan
reference, account number; every lookup served by an index; a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from complaints import search
from complaints.models import Complaint
from tests.factories import CreditAccountFactory, CustomerFactory
from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db

QUEUE = "/admin/complaints/complaint/"


@pytest.fixture
def cases(system_user):
    """Two customers' cases: 张小明 (the one searched for) and 李四 (who must never match)."""
    ming = CustomerFactory(name="张小明", phone="13912345678", national_id="11010519900307123X")
    account, loans = account_with_loans(
        actor=system_user, customer=ming, amounts=["100.00", "200.00"]
    )
    other_account, other_loans = account_with_loans(
        actor=system_user, customer=CustomerFactory(name="李四", phone="13700000001")
    )
    return {
        "mine": dispute(account=account, loans=loans[:1]),
        "other": dispute(account=other_account, loans=other_loans),
        "account": account,
        "loans": loans,
    }


def _references(response) -> set[str]:
    assert response.status_code == 200, response.content[:2000]
    return set(re.findall(r"CP\d{8}[0-9A-F]{8}", response.content.decode()))


@pytest.mark.parametrize(
    "term",
    [
        "mine-reference-lower",
        "张小",  # name prefix (two characters: no trigram)
        "小明",  # name substring (not a prefix) needs 3+ characters...
        "张小明",
        "13912345678",
        "139-1234-5678",
        "+8613912345678",
        "11010519900307123x",  # national ID, lower-case x
        "account",
        "loan",
    ],
)
def test_search_finds_the_case_and_only_it(cases, staff_client, term):
    client, _agent, _device = staff_client("agent")
    mine, other = cases["mine"], cases["other"]
    if term == "mine-reference-lower":
        term = mine.reference[:12].lower()
    elif term == "account":
        term = cases["account"].number
    elif term == "loan":
        term = cases["loans"][0].reference.lower()
    found = _references(client.get(QUEUE, {"q": term}))
    if term == "小明":
        # ...two characters inside a name are not searched (no trigram); never another's case
        assert other.reference not in found
        return
    assert mine.reference in found
    assert other.reference not in found


def test_a_second_account_of_the_customer_finds_all_their_cases(cases, system_user):
    ming = cases["account"].customer
    second = CreditAccountFactory(customer=ming)
    found = set(
        search.complaints_matching(Complaint.objects.all(), second.number).values_list(
            "reference", flat=True
        )
    )
    assert found == {cases["mine"].reference}


@pytest.mark.parametrize("term", ["13912345678", "11010519900307123X", "account", "loan"])
def test_without_limits_in_a_compound_statement_the_lookups_run_one_by_one(
    cases, monkeypatch, term
):
    """SQLite (`make run`) refuses a LIMIT inside a UNION (the phone search was a 500 there):
    without that feature the exact lookups run one by one and find the same customers."""
    from django.db import connection

    term = {"account": cases["account"].number, "loan": cases["loans"][0].reference}.get(term, term)
    together = search.customer_ids_matching(term)
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    with CaptureQueriesContext(connection) as ctx:
        assert search.customer_ids_matching(term) == together == [cases["account"].customer_id]
    assert not any("UNION" in q["sql"] for q in ctx.captured_queries)


def test_name_substring_of_three_characters(system_user):
    customer = CustomerFactory(name="欧阳小明华")
    prefixed = CustomerFactory(name="小明华")
    CustomerFactory(name="欧阳大明")
    assert search.customer_ids_matching("阳小明") == [customer.pk]
    # A name that starts so wins: substrings are searched only when no name does.
    assert search.customer_ids_matching("小明华") == [prefixed.pk]
    assert search.customer_ids_matching("ou") == []


def test_bad_input_is_a_page_not_a_500(cases, staff_client):
    client, _agent, _device = staff_client("agent")
    assert client.get(QUEUE, {"q": "CP\x00\x00"}).status_code == 400  # the house's NUL check
    response = client.get(QUEUE, {"q": "张" * 5000})
    assert response.status_code == 200
    assert search.search_term("a\x00b" + "x" * 500).text == "ab" + "x" * 98
    assert search.customer_ids_matching("   ") == []


def _plans(sqls: list[str]) -> list[str]:
    """EXPLAIN of each SELECT with sequential scans disabled: a query no index can serve still
    shows a Seq Scan (at a prohibitive cost), one an index serves does not."""
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in sqls:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@pytest.mark.parametrize(
    "term", ["CP2026", "张小", "小明华", "13912345678", "11010519900307123X", "LNTEST", "62"]
)
def test_every_lookup_is_served_by_an_index(cases, term):
    with CaptureQueriesContext(connection) as ctx:
        qs = search.complaints_matching(Complaint.objects.order_by("due_at", "id"), term)
        list(qs[:25])
        qs.count()
    sqls = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT")]
    assert len(sqls) >= 2  # customers (blind index, account, loan, name), then complaints
    for sql, plan in zip(sqls, _plans(sqls), strict=True):
        assert "Seq Scan" not in plan, f"{sql}\n{plan}"
        # ...and not a whole index walked with a filter: the index narrows the rows.
        assert "Index Cond" in plan, f"{sql}\n{plan}"


def test_name_lookups_use_the_name_indexes(cases):
    # No name starts so: the prefix (btree) and then the substring (trigram) lookup run.
    with CaptureQueriesContext(connection) as ctx:
        assert search.customer_ids_matching("小明华") == []
    plans = "\n".join(_plans([q["sql"] for q in ctx.captured_queries]))
    assert "customer_name_upper_idx" in plans
    assert "customer_name_trgm_idx" in plans


def test_search_query_count_is_fixed(cases, staff_client, system_user, django_assert_num_queries):
    client, _agent, _device = staff_client("agent")
    for _ in range(5):
        account, loans = account_with_loans(actor=system_user, customer=cases["account"].customer)
        dispute(account=account, loans=loans)
    client.get(QUEUE, {"q": "张小明"})  # warm the session and content types
    with CaptureQueriesContext(connection) as few:
        assert len(_references(client.get(QUEUE, {"q": "张小明"}))) == 6
    for _ in range(10):
        account, loans = account_with_loans(actor=system_user, customer=cases["account"].customer)
        dispute(account=account, loans=loans)
    with CaptureQueriesContext(connection) as many:
        assert len(_references(client.get(QUEUE, {"q": "张小明"}))) == 16
    assert len(many.captured_queries) == len(few.captured_queries) <= 16


def test_queue_pages_count_only_a_few_pages_ahead(
    cases, staff_client, system_user, monkeypatch, django_assert_max_num_queries
):
    """No COUNT(*) over the whole queue: the count stops LOOKAHEAD_PAGES past the page shown,
    and the paginator then says "more than"."""
    from complaints.admin import ComplaintAdmin, QueuePaginator

    monkeypatch.setattr(QueuePaginator, "LOOKAHEAD_PAGES", 1)
    monkeypatch.setattr(ComplaintAdmin, "list_per_page", 2)
    for _ in range(4):
        account, loans = account_with_loans(actor=system_user)
        dispute(account=account, loans=loans)
    client, _agent, _device = staff_client("agent")
    client.get(QUEUE)
    with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(16):
        response = client.get(QUEUE, {"queue": "unassigned"})
    html = response.content.decode()
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == 1 and "LIMIT 5" in counts[0]  # (page 1 + 1) * 2 + 1
    paginator = html.split('data-testid="queue-paginator"', 1)[1].split("</p>", 1)[0]
    with translation.override("zh-hans"):
        more = translation.gettext("more than %(count)s") % {"count": 4}
    assert more in paginator
    assert len(_references(response)) == 2
    # The last pages count exactly.
    last = client.get(QUEUE, {"queue": "unassigned", "p": "3"}).content.decode()
    with translation.override("zh-hans"):
        assert translation.gettext("more than %(count)s") % {"count": 6} not in last
    assert f"6 {Complaint._meta.verbose_name_plural}" in last or "6 投诉" in last
