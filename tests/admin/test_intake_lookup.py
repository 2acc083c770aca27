"""The phone and letter intake finds the customer by name, phone, national ID or account number
(complaints.search), lists them with masked data and their accounts, and a pick fills the
account of the intake form."""

from __future__ import annotations

import pytest

from complaints.models import Complaint
from tests.factories import CreditAccountFactory, CustomerFactory
from tests.factories.complaints import account_with_loans

pytestmark = pytest.mark.django_db

INTAKE = "/admin/complaints/complaint/intake/"


@pytest.fixture
def wang(system_user):
    customer = CustomerFactory(name="王小红", phone="13612345678", national_id="110105198001011234")
    account, loans = account_with_loans(actor=system_user, customer=customer)
    second = CreditAccountFactory(customer=customer)
    CustomerFactory(name="赵六", phone="13600000009")
    return customer, account, second, loans


@pytest.mark.parametrize("find", ["王小", "13612345678", "110105198001011234", "account"])
def test_lookup_lists_the_customer_masked_with_accounts(wang, staff_client, find):
    customer, account, second, _loans = wang
    client, _agent, _device = staff_client("agent")
    response = client.get(INTAKE, {"find": account.number if find == "account" else find})
    assert response.status_code == 200
    # The results table (the search box above echoes what was typed).
    html = response.content.decode().split('data-testid="intake-matches"', 1)[1]
    assert html.count('data-testid="intake-customer"') == 1
    assert "王小红" in html and "赵六" not in html
    assert "136****5678" in html and "13612345678" not in html
    assert "110***********1234" in html and "110105198001011234" not in html
    assert f'href="?account={account.number}"' in html
    assert f'href="?account={second.number}"' in html


def test_no_match_says_so(wang, staff_client):
    client, _agent, _device = staff_client("agent")
    html = client.get(INTAKE, {"find": "不存在的人"}).content.decode()
    assert 'data-testid="intake-no-match"' in html
    assert 'data-testid="intake-customer"' not in html


def test_picking_an_account_fills_the_form_and_records_the_complaint(wang, staff_client):
    customer, account, _second, loans = wang
    client, agent, _device = staff_client("agent")
    page = client.get(INTAKE, {"account": account.number})
    html = page.content.decode()
    assert 'data-testid="intake-chosen"' in html and "王小红" in html
    assert f'name="account_number" value="{account.number}"' in html
    response = client.post(
        f"{INTAKE}?account={account.number}",
        {
            "channel": "phone",
            "account_number": account.number,
            "category": "unauthorized_loan",
            "loan_references": loans[0].reference,
            "description": "客户来电称未借款",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    complaint = Complaint.objects.get()
    assert complaint.customer == customer and complaint.account == account
    assert complaint.channel == "phone" and complaint.history.first().history_user == agent


def test_bad_lookup_input_is_not_a_500(wang, staff_client):
    client, _agent, _device = staff_client("agent")
    assert client.get(INTAKE, {"find": "王" * 10_000}).status_code == 200
    assert client.get(INTAKE, {"account": "x" * 10_000}).status_code == 200
    assert client.get(INTAKE, {"find": "王\x00"}).status_code == 400  # the house's NUL check


def test_lookup_query_count_does_not_grow_with_matches(system_user, staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client, _agent, _device = staff_client("agent")
    for i in range(3):
        CreditAccountFactory(customer=CustomerFactory(name=f"孙悟空{i}"))
    client.get(INTAKE, {"find": "孙悟"})
    with CaptureQueriesContext(connection) as few:
        assert client.get(INTAKE, {"find": "孙悟"}).content.decode().count("intake-customer") == 3
    for i in range(3, 12):
        CreditAccountFactory(customer=CustomerFactory(name=f"孙悟空{i}"))
    with CaptureQueriesContext(connection) as many:
        assert client.get(INTAKE, {"find": "孙悟"}).content.decode().count("intake-customer") == 12
    assert len(few.captured_queries) == len(many.captured_queries) <= 15


def test_auditor_cannot_use_the_intake(wang, staff_client):
    client, _auditor, _device = staff_client("auditor")
    assert client.get(INTAKE, {"find": "王小"}).status_code == 403
