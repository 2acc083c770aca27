"""Bulk take / assign on the queue: an intermediate page with the cases and one reason (and the
assignee), then each case through complaint_assign with its own checks; a summary of what was
done and what was refused, and why, per case."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.utils import translation

from closures import services as closure_services
from closures.enums import ClosureReason
from complaints import services
from complaints.enums import Category, Channel, Status
from complaints.models import Complaint
from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db

QUEUE = "/admin/complaints/complaint/"


@pytest.fixture
def three_cases(system_user):
    cases = []
    for _ in range(3):
        account, loans = account_with_loans(actor=system_user)
        cases.append(dispute(account=account, loans=loans))
    return cases


DONE = "%(action)s: %(count)d done (%(refs)s)."
REFUSED = "%(ref)s refused: %(why)s"


def _zh(msgid: str, **values) -> str:
    """The zh-hans text the page shows (the default language)."""
    with translation.override("zh-hans"):
        text = translation.gettext(msgid)
    return text % values if values else text


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _post_action(client, action, cases, **extra):
    data = {"action": action, "_selected_action": [c.pk for c in cases], **extra}
    return client.post(f"{QUEUE}?queue=unassigned", data)


def test_bulk_take_asks_for_one_reason_then_takes_each(three_cases, staff_client):
    client, agent, _device = staff_client("agent")
    page = _post_action(client, "bulk_take", three_cases, index=0)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="bulk-form"' in html
    assert all(c.reference in html for c in three_cases)
    assert Complaint.objects.filter(assignee=agent).count() == 0  # nothing done yet

    # The reason is required: the page comes back with the error, still nothing done.
    again = _post_action(client, "bulk_take", three_cases, bulk_confirmed=1, reason="")
    assert again.status_code == 200
    assert Complaint.objects.filter(assignee=agent).count() == 0

    done = _post_action(client, "bulk_take", three_cases, bulk_confirmed=1, reason="早班分配")
    assert done.status_code == 302
    for c in three_cases:
        c.refresh_from_db()
        assert c.assignee == agent and c.status == Status.INVESTIGATING
        record = c.history.first()
        assert record.history_user == agent and record.history_change_reason == "早班分配"
    refs = ", ".join(c.reference for c in sorted(three_cases, key=lambda c: (c.due_at, c.pk)))
    assert _messages(done) == [_zh(DONE, action=_zh("Take this case"), count=3, refs=refs)]


def test_bulk_assign_refuses_per_case_and_says_why(three_cases, staff_client, system_user):
    client, manager, _device = staff_client("manager")
    _other_client, colleague, _d = staff_client("agent")
    open_case, closed_case, staked_case = three_cases
    # A case already closed (withdrawn by the customer): its service refuses it.
    services.complaint_withdraw(
        complaint_id=closed_case.pk, actor=closed_case.customer.user, reason="客户撤回"
    )
    # The colleague proposed a closure of this account: a stake in the complaint about it.
    closure_services.closure_propose(
        actor=colleague,
        reason="risk review",
        account_id=staked_case.account_id,
        closure_reason=ClosureReason.POLICY_HIGH_RISK,
        explanation="高风险",
    )
    staked = services.complaint_submit(
        actor=staked_case.customer.user,
        reason="t",
        customer=staked_case.customer,
        category=Category.CLOSURE,
        description="不该关闭",
        channel=Channel.PORTAL,
        account_id=staked_case.account_id,
    )
    cases = [open_case, closed_case, staked]

    page = client.post(QUEUE, {"action": "bulk_assign", "_selected_action": [c.pk for c in cases]})
    assert page.status_code == 200
    assert f'<option value="{colleague.pk}"' in page.content.decode()

    done = client.post(
        QUEUE,
        {
            "action": "bulk_assign",
            "_selected_action": [c.pk for c in cases],
            "bulk_confirmed": 1,
            "assignee": colleague.pk,
            "reason": "分给同事",
        },
    )
    assert done.status_code == 302
    for c in cases:
        c.refresh_from_db()
    assert open_case.assignee == colleague
    assert closed_case.assignee is None and closed_case.status == Status.WITHDRAWN
    assert staked.assignee is None
    assign = _zh("Assign")
    assert _messages(done) == [
        _zh(DONE, action=assign, count=1, refs=open_case.reference),
        _zh("%(action)s: %(count)d refused.", action=assign, count=2),
        _zh(REFUSED, ref=closed_case.reference, why=_zh("Only open complaints can be assigned.")),
        _zh(
            REFUSED,
            ref=staked.reference,
            why=_zh(
                "%(user)s has a stake in this case and cannot handle it.",
                user=colleague.username,
            ),
        ),
    ]


def test_auditors_have_no_bulk_actions(three_cases, staff_client):
    client, _auditor, _device = staff_client("auditor")
    page = client.get(QUEUE)
    assert page.status_code == 200
    assert "bulk_take" not in page.content.decode()
    refused = client.post(
        QUEUE,
        {
            "action": "bulk_take",
            "_selected_action": [three_cases[0].pk],
            "bulk_confirmed": 1,
            "reason": "x",
        },
    )
    three_cases[0].refresh_from_db()
    assert three_cases[0].assignee is None
    assert refused.status_code in (200, 302)


def test_bulk_take_query_count_grows_only_with_the_work(three_cases, staff_client, system_user):
    """The confirmation page runs a fixed number of queries whatever the selection."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, _agent, _device = staff_client("agent")
    _post_action(client, "bulk_take", three_cases[:1], index=0)  # warm the session
    with CaptureQueriesContext(connection) as one:
        assert _post_action(client, "bulk_take", three_cases[:1], index=0).status_code == 200
    with CaptureQueriesContext(connection) as three:
        assert _post_action(client, "bulk_take", three_cases, index=0).status_code == 200
    assert len(one.captured_queries) == len(three.captured_queries) <= 15
