"""The account page: a disputed or reversed loan record links to its complaint (issue 13 item
10) in a fixed number of queries, and the complaint page's record table keeps its labels when
stacked on a phone (found walking the stories: tests/browser/walk_stories.py)."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db


def _account_page(client, account) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/portal/accounts/{account.pk}/")
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_a_disputed_loan_links_to_its_complaint_not_to_a_new_one(client, login_as, system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("6800.00", "86.50"))
    complaint = dispute(account=account, loans=loans[:1])
    login_as(account.customer.user)
    body, _ = _account_page(client, account)
    disputed = re.search(rf'<tr data-testid="loan-{loans[0].pk}">.*?</tr>', body, re.S).group(0)
    assert f'href="/portal/complaints/{complaint.reference}/"' in disputed
    assert "/portal/complaints/new/" not in disputed
    untouched = re.search(rf'<tr data-testid="loan-{loans[1].pk}">.*?</tr>', body, re.S).group(0)
    assert f"loan_records={loans[1].pk}" in untouched and "/portal/complaints/CP" not in untouched


def test_the_links_cost_no_query_per_row(client, login_as, system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("10.00",) * 2)
    dispute(account=account, loans=loans)
    login_as(account.customer.user)
    _, few = _account_page(client, account)
    more_account, more_loans = account_with_loans(
        actor=system_user, amounts=("10.00",) * 12, customer=account.customer
    )
    for loan in more_loans:
        dispute(account=more_account, loans=[loan])
    body, many = _account_page(client, more_account)
    assert body.count('data-testid="loan-complaint"') == 12
    assert many == few


def test_the_complaint_pages_records_keep_their_labels_on_a_phone(client, login_as, system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("6800.00",))
    complaint = dispute(account=account, loans=loans)
    login_as(account.customer.user)
    body = client.get(f"/portal/complaints/{complaint.reference}/").content.decode()
    row = re.search(r'<tr data-testid="item-[^"]+">.*?</tr>', body, re.S).group(0)
    assert re.findall(r'data-label="([^"]+)"', row) == ["编号", "金额", "状态", "结果"]


def test_the_dispute_form_offers_only_records_that_can_still_be_disputed(
    client, login_as, system_user
):
    account, loans = account_with_loans(actor=system_user, amounts=("6800.00", "86.50"))
    dispute(account=account, loans=loans[:1])
    login_as(account.customer.user)
    body = client.get(
        f"/portal/complaints/new/?category=unauthorized_loan&account={account.pk}"
    ).content.decode()
    assert loans[1].reference in body
    assert loans[0].reference not in body  # disputed: on its complaint already


def test_a_customer_with_one_account_finds_it_chosen(client, login_as, system_user):
    account, _ = account_with_loans(actor=system_user)
    login_as(account.customer.user)
    form = client.get("/portal/complaints/new/?category=other").context["form"]
    assert str(form["account"].value()) == str(account.pk)
    account_with_loans(actor=system_user, customer=account.customer)  # a second one
    form = client.get("/portal/complaints/new/?category=other").context["form"]
    assert form["account"].value() is None
