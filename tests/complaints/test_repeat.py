"""Repeat complaints (issue 13 item 8a, PRODUCT.md): a new complaint from the same customer on
the same account and category within 90 days is linked to the earlier ones, in its history,
and flagged on the queue (a stored field, no per-row query) and on the case page."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.staff import staff_upsert
from complaints import services
from complaints.enums import Category, Channel
from complaints.models import Complaint
from complaints.repeats import complaints_earlier
from tests.admin.conftest import PASSWORD, login
from tests.factories import CreditAccountFactory
from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db


def _file(account, *, category=Category.BILLING, received_at=None, with_account=True):
    customer = account.customer
    return services.complaint_submit(
        actor=customer.user,
        reason="customer complaint",
        customer=customer,
        category=category,
        description="账单金额不对",
        channel=Channel.PORTAL,
        account_id=account.pk if with_account else None,
        received_at=received_at,
    )


def _client(system_user, role: str, name: str) -> Client:
    user, device = staff_upsert(
        actor=system_user, reason="test", username=name, role=role, password=PASSWORD
    )
    client = Client()
    assert login(client, user, device).status_code == 302
    return client


def test_same_account_and_category_within_90_days_is_linked_to_the_earlier_ones():
    account = CreditAccountFactory()
    now = timezone.now()
    first = _file(account, received_at=now - timedelta(days=60))
    second = _file(account, received_at=now - timedelta(days=10))
    third = _file(account)
    assert (first.repeat_of_id, first.repeat_count) == (None, 0)
    assert (second.repeat_of_id, second.repeat_count) == (first.pk, 1)
    assert (third.repeat_of_id, third.repeat_count) == (second.pk, 2)  # the latest, and how many
    assert [c.reference for c in complaints_earlier(third)] == [second.reference, first.reference]
    assert complaints_earlier(first) == []
    # Recorded in history: the first history row holds the link, with who filed it and why.
    record = third.history.get()
    assert record.history_type == "+"
    assert (record.repeat_of_id, record.repeat_count) == (second.pk, 2)
    assert record.history_user == account.customer.user
    assert record.history_change_reason == "customer complaint"


def test_not_a_repeat_across_accounts_categories_or_past_90_days():
    account = CreditAccountFactory()
    other_account = CreditAccountFactory(customer=account.customer)
    now = timezone.now()
    _file(account, received_at=now - timedelta(days=91))  # outside the window
    assert _file(account).repeat_count == 0
    on_other = _file(other_account)
    assert on_other.repeat_count == 0  # same customer, another account
    assert _file(account, category=Category.SERVICE).repeat_count == 0  # another category
    no_account = _file(account, with_account=False)
    assert (no_account.repeat_of_id, no_account.repeat_count) == (None, 0)
    # 89 days back still counts (and the one at 91 days still does not).
    old = _file(other_account, received_at=now - timedelta(days=89))
    again = _file(other_account)
    assert (again.repeat_of_id, again.repeat_count) == (on_other.pk, 2)  # the latest of two
    assert [c.pk for c in complaints_earlier(again)] == [on_other.pk, old.pk]


def test_another_customers_complaints_never_count():
    account = CreditAccountFactory()
    _file(account)
    stranger_account = CreditAccountFactory()
    assert _file(stranger_account).repeat_count == 0


def test_unauthorized_loan_disputes_repeat_too(system_user):
    account, loans = account_with_loans(actor=system_user, amounts=("10.00", "20.00"))
    first = dispute(account=account, loans=[loans[0]])
    second = dispute(account=account, loans=[loans[1]])
    assert (second.repeat_of_id, second.repeat_count) == (first.pk, 1)


def test_queue_flags_repeats_without_a_query_per_row(system_user, django_assert_max_num_queries):
    accounts = [CreditAccountFactory() for _ in range(4)]
    for account in accounts:
        for _ in range(3):
            _file(account)  # 4 first complaints, 8 repeats
    client = _client(system_user, "agent", "repeat_agent")
    with django_assert_max_num_queries(15):
        resp = client.get("/admin/complaints/complaint/?lang=en")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert body.count('class="repeat-badge"') == 8
    assert "Repeat (2 earlier)" in body and "Repeat (1 earlier)" in body
    latest = Complaint.objects.filter(repeat_count=2).first()
    assert f'href="/admin/complaints/complaint/{latest.repeat_of_id}/change/"' in body


def test_case_page_links_the_earlier_complaints(system_user):
    account = CreditAccountFactory()
    first = _file(account)
    second = _file(account)
    third = _file(account)
    client = _client(system_user, "agent", "repeat_case_agent")
    body = client.get(f"/admin/complaints/complaint/{third.pk}/change/").content.decode()
    assert 'data-testid="repeat-complaint"' in body
    for earlier in (first, second):
        assert f'href="/admin/complaints/complaint/{earlier.pk}/change/"' in body
        assert f'data-testid="earlier-{earlier.reference}"' in body
    assert f'href="/admin/accounts/customer/{account.customer_id}/change/"' in body
    first_body = client.get(f"/admin/complaints/complaint/{first.pk}/change/").content.decode()
    assert 'data-testid="repeat-complaint"' not in first_body


@pytest.mark.django_db(transaction=True)
def test_two_complaints_filed_at_once_see_each_other():
    """Detection runs under the account's row lock: of two complaints filed at the same moment
    on one account, exactly one is the repeat of the other."""
    account = CreditAccountFactory()
    barrier = threading.Barrier(2)
    filed: list[int] = []
    errors: list[Exception] = []

    def file_one():
        try:
            barrier.wait(timeout=10)
            filed.append(_file(account).pk)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=file_one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and len(filed) == 2
    first, second = Complaint.objects.filter(pk__in=filed).order_by("repeat_count")
    assert (first.repeat_of_id, first.repeat_count) == (None, 0)
    assert (second.repeat_of_id, second.repeat_count) == (first.pk, 1)
