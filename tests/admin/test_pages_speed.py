"""Issue 13 "Speed": what the agents' pages do faster must show exactly what Django's admin
showed. The queue's rows (complaints/templatetags/complaint_queue.py) are Django's
`{% result_list %}` markup, the sidebar (backoffice/templatetags/admin_nav.py) Django's
nav_sidebar.html; the case page reads the complaint with few joins and the canned replies
once."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.contrib.admin.templatetags.admin_list import result_list
from django.core.cache import cache
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from complaints import services
from complaints.enums import Category, PauseReason
from complaints.models import CannedReply, Complaint
from tests.factories.complaints import account_with_loans, decide_all, dispute, fresh_stepup, staff

pytestmark = pytest.mark.django_db

QUEUE = "/admin/complaints/complaint/"


def _norm(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", html.strip()))


def _results_div(body: str) -> str:
    start = body.index('<div class="results">')
    return body[start : body.index("</table>", start) + len("</table>\n</div>")]


def _sidebar(body: str) -> str:
    start = body.index('<button class="sticky toggle-nav-sidebar"')
    return body[start : body.index("</nav>", start) + len("</nav>")]


@pytest.fixture
def queue(system_user):
    """Cases with every column filled differently: assigned or not, a repeat, paused, an
    unauthorized-loan dispute and a service complaint."""
    agent = staff("agent")
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "88.00"))
    first = dispute(account=account, loans=loans[:1])
    repeat = dispute(account=account, loans=loans[1:])
    services.complaint_assign(complaint_id=first.pk, assignee=agent, actor=agent, reason="t")
    services.complaint_pause(
        complaint_id=first.pk,
        actor=agent,
        reason="等待材料",
        pause_reason=PauseReason.CUSTOMER_EVIDENCE,
    )
    services.complaint_submit(
        actor=account.customer.user,
        reason="customer complaint",
        customer=account.customer,
        category=Category.SERVICE,
        description="客服态度不好 <b>&</b>",
        channel="portal",
        account_id=account.pk,
        loan_record_ids=[],
        account_compromised=False,
    )
    repeat.refresh_from_db()
    assert repeat.repeat_count == 1  # the repeat badge column has something to show
    return agent


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("query", ["", "?queue=open", "?o=-2.1", "?q=cp2"])
def test_the_queue_rows_are_djangos_result_list(staff_client, queue, language, query):
    client, _agent, _device = staff_client("agent")
    client.cookies["django_language"] = language
    response = client.get(QUEUE + query)
    assert response.status_code == 200
    cl = response.context["cl"]
    assert len(cl.result_list) >= 1
    with translation.override(language):
        django_html = render_to_string("admin/change_list_results.html", result_list(cl))
    expected = _norm(django_html[django_html.index('<div class="results">') :])
    page = _norm(_results_div(response.content.decode()))
    assert page == expected
    # Every column and every case is there (the comparison above would also see a lost one).
    assert page.count("<tr>") == len(cl.result_list) + 1
    assert page.count('class="field-') == len(cl.result_list) * (len(cl.list_display) - 1)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_sidebar_is_djangos_nav_sidebar(staff_client, system_user, language):
    client, _agent, _device = staff_client("manager")
    client.cookies["django_language"] = language
    account, loans = account_with_loans(actor=system_user, amounts=("10.00",))
    complaint = dispute(account=account, loans=loans)
    for url in (
        QUEUE,
        f"{QUEUE}{complaint.pk}/change/",
        f"/admin/accounts/customer/{account.customer_id}/change/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        with translation.override(language):
            expected = render_to_string(
                "admin/nav_sidebar.html",
                {
                    "available_apps": response.context["available_apps"],
                    "request": response.wsgi_request,
                },
            )
        sidebar = _norm(_sidebar(response.content.decode()))
        assert sidebar == _norm(expected), url
        assert "current-model" in sidebar and 'aria-current="page"' in sidebar, url


def _complaint_statement(queries: list[str], pk: int) -> str:
    """The SELECT that reads the case itself (by its primary key)."""
    return next(
        q
        for q in queries
        if q.startswith('SELECT "complaints_complaint"."id"')
        and f'"complaints_complaint"."id" = {pk}' in q
    )


def test_the_case_page_reads_its_staff_without_a_nine_table_join(staff_client, system_user):
    """The complaint is read with four joins (customer, account, assignee, compensation):
    joined to every staff member too, PostgreSQL planned the statement for ~10 ms. The drafter
    and approver are the actors of the timeline's drafted and approved events (read with it):
    no query of their own, and they show by name."""
    client, agent, _device = staff_client("agent")
    client.cookies["django_language"] = "en"
    reviewer = staff("reviewer")
    # Over DECISION_APPROVAL_THRESHOLD: the decision waits for a reviewer's approval.
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00",))
    complaint = dispute(account=account, loans=loans)
    services.complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent, reason="t")
    url = f"{QUEUE}{complaint.pk}/change/"
    client.get(url)
    with CaptureQueriesContext(connection) as open_case:
        body = client.get(url).content.decode()
    sqls = [q["sql"] for q in open_case.captured_queries]
    statement = _complaint_statement(sqls, complaint.pk)
    assert statement.count(" JOIN ") <= 4, statement
    staff_reads = [q for q in sqls if q.startswith('SELECT "accounts_user"') and " IN (" in q]
    assert staff_reads == []  # nobody but the assignee (joined) to show
    assert agent.username in body.split('data-testid="case-assignee"', 1)[1][:200]

    decide_all(complaint, agent)
    fresh_stepup(reviewer)
    services.complaint_decision_approve(complaint_id=complaint.pk, actor=reviewer, reason="ok")
    with CaptureQueriesContext(connection) as decided:
        body = client.get(url).content.decode()
    sqls = [q["sql"] for q in decided.captured_queries]
    staff_reads = [q for q in sqls if q.startswith('SELECT "accounts_user"') and " IN (" in q]
    assert staff_reads == [], staff_reads
    drafter_approver = Complaint.objects.values_list("drafted_by_id", "approved_by_id")
    assert drafter_approver.get(pk=complaint.pk) == (agent.pk, reviewer.pk)
    decision = body.split("drafted by", 1)[1].split("</td>", 1)[0]
    assert agent.username in decision and f"approved by {reviewer.username}" in decision


def test_the_canned_replies_are_read_once(staff_client, system_user):
    """StaffMessageForm read them twice (its options and their texts), once through a
    server-side cursor; now once, then kept in the shared cache (none), and a posted choice is
    still checked against the database."""
    client, agent, _device = staff_client("agent")
    account, loans = account_with_loans(actor=system_user, amounts=("60.00",))
    complaint = dispute(account=account, loans=loans)
    language = account.customer.preferred_language
    for title in ("问候", "致歉"):
        CannedReply.objects.create(title=title, language=language, body="您好 {customer_name}")
    retired = CannedReply.objects.create(title="旧", language=language, body="x", active=False)
    url = f"{QUEUE}{complaint.pk}/change/"
    client.get(url)
    cache.delete_many([f"complaints:canned-replies:{code}" for code, _name in settings.LANGUAGES])
    with CaptureQueriesContext(connection) as ctx:
        body = client.get(url).content.decode()
    canned = [q["sql"] for q in ctx.captured_queries if "complaints_cannedreply" in q["sql"]]
    assert len(canned) == 1 and not canned[0].startswith("DECLARE"), canned
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    assert not [q for q in ctx.captured_queries if "complaints_cannedreply" in q["sql"]]
    select = body.split('name="canned_reply"', 1)[1].split("</select>", 1)[0]
    assert select.count("<option") == 3 and "data-text=" in select  # empty + the two in use
    assert "问候" in select and "旧" not in select
    response = client.post(
        f"{QUEUE}{complaint.pk}/act/message/", {"canned_reply": str(retired.pk), "text": ""}
    )
    assert response.status_code == 200  # the retired reply is refused, the form shown again
    assert "canned_reply" in response.context["form"].errors
