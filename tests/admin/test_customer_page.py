"""The customer's whole relationship on one admin page (issue 13 item 3): accounts, loans,
complaints, closures, appeals and notices sent, each role seeing the sections its permissions
allow, personal data masked, linked from the case, account and loan pages, and a query count
that does not grow with what the customer holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import AccountDelinquency, LoanRecord
from closures import services as closure_services
from complaints import services
from complaints.enums import Category, Channel
from core import crypto
from notices.models import Notice
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory
from tests.factories.closures import closed_by_risk
from tests.factories.closures import staff as closures_staff

pytestmark = pytest.mark.django_db

SECTIONS = ("accounts", "loans", "complaints", "closures", "appeals", "notices")


def _complaint(account, category=Category.BILLING):
    customer = account.customer
    return services.complaint_submit(
        actor=customer.user,
        reason="customer complaint",
        customer=customer,
        category=category,
        description="账单金额不对",
        channel=Channel.PORTAL,
        account_id=account.pk,
    )


def _relationship(
    system_user, *, accounts: int = 3, loans: int = 12, complaints: int = 3, seq: int = 0
):
    """A customer with several accounts, loans, complaints (repeats among them), a closure
    closed by risk with its appeal, and the notices all that sent."""
    customer = CustomerFactory(phone=f"1381234567{seq}", national_id=f"11010519900101123{seq}")
    made = [CreditAccountFactory(customer=customer) for _ in range(accounts)]
    AccountDelinquency.objects.create(
        account=made[0], overdue_count=4, overdue_open=2, amount_past_due=Decimal("1234.50")
    )
    for i in range(loans):
        LoanRecordFactory(account=made[i % accounts], amount=Decimal("100.00") + i)
    filed = [_complaint(made[i % 2]) for i in range(complaints)]
    filed.append(_complaint(made[1], Category.SERVICE))
    closure = closed_by_risk(
        account=made[-1],
        proposer=closures_staff("risk_officer"),
        approver=closures_staff("reviewer"),
        actor=system_user,
    )
    appeal = closure_services.appeal_file(
        actor=customer.user, closure_id=closure.pk, grounds="我没有逾期"
    )
    return customer, made, filed, closure, appeal


@pytest.fixture
def relationship(system_user):
    return _relationship(system_user)


def _page(client: Client, customer, lang: str = "en") -> str:
    resp = client.get(f"/admin/accounts/customer/{customer.pk}/change/?lang={lang}")
    assert resp.status_code == 200, resp.content[:2000]
    return resp.content.decode()


def _sections(body: str) -> set[str]:
    return {key for key in SECTIONS if f'data-testid="section-{key}"' in body}


def test_agent_sees_the_whole_relationship(staff_client, relationship):
    customer, accounts, complaints, closure, appeal = relationship
    client, _user, _device = staff_client("agent")
    body = _page(client, customer)
    assert _sections(body) == set(SECTIONS)
    # Accounts with status, limit, balance and the overdue figures.
    assert body.count('href="/admin/accounts/creditaccount/') >= len(accounts)
    assert "¥20,000.00" in body and "¥1,234.50" in body
    assert "Closed" in body  # the account closed by risk
    # The 10 newest loans, and a link to all of them.
    newest = LoanRecord.objects.filter(account__customer=customer).order_by("-created_at", "-pk")
    shown = [loan.reference for loan in newest[:10]]
    assert all(ref in body for ref in shown)
    assert newest[10].reference not in body and newest[11].reference not in body
    more = f"/admin/accounts/loanrecord/?account__customer__id__exact={customer.pk}"
    assert f'href="{more}"' in body
    # Every complaint with its category, status and the repeat flag.
    for complaint in complaints:
        assert f'href="/admin/complaints/complaint/{complaint.pk}/change/"' in body
    assert "Billing" in body and "Service" in body
    assert body.count('class="repeat-badge"') == 1  # the third billing complaint on account 0
    # The closure and its appeal; the notices sent to the customer.
    assert f'href="/admin/closures/closurerequest/{closure.pk}/change/"' in body
    assert f'href="/admin/closures/appeal/{appeal.pk}/change/"' in body
    assert appeal.reference in body
    notice = Notice.objects.filter(recipient=customer.user).order_by("-created_at", "-pk").first()
    assert f'href="/admin/notices/notice/{notice.pk}/change/"' in body
    # Personal data masked; no unmask link for an agent.
    assert crypto.mask_phone(customer.phone) in body
    assert customer.phone not in body and customer.national_id not in body
    assert "/unmask/" not in body


def test_the_more_links_answer(staff_client, relationship):
    customer, *_rest = relationship
    client, _user, _device = staff_client("agent")
    resp = client.get(f"/admin/accounts/loanrecord/?account__customer__id__exact={customer.pk}")
    assert resp.status_code == 200
    assert resp.content.decode().count('href="/admin/accounts/loanrecord/') >= 12
    other = CreditAccountFactory()
    stranger = LoanRecordFactory(account=other)
    assert stranger.reference not in resp.content.decode()
    resp = client.get(f"/admin/complaints/complaint/?customer__id__exact={customer.pk}")
    assert resp.status_code == 200
    resp = client.get(f"/admin/notices/notice/?recipient__id__exact={customer.user_id}")
    assert resp.status_code == 200
    notice = Notice.objects.filter(recipient=customer.user).first()
    assert f'href="/admin/notices/notice/{notice.pk}/change/' in resp.content.decode()


@pytest.mark.parametrize(
    ("role", "sections", "unmask"),
    [
        ("reviewer", set(SECTIONS), False),
        ("manager", set(SECTIONS), True),
        ("auditor", set(SECTIONS), False),
        ("risk_officer", set(SECTIONS) - {"complaints"}, False),
    ],
)
def test_each_role_sees_what_its_permissions_allow(
    staff_client, relationship, role, sections, unmask
):
    customer, *_rest = relationship
    client, _user, _device = staff_client(role)
    body = _page(client, customer)
    assert _sections(body) == sections
    assert ("/unmask/" in body) is unmask
    assert customer.phone not in body and customer.national_id not in body  # masked for all


def test_a_customer_gets_nothing(client, login_as, relationship):
    customer, *_rest = relationship
    login_as(customer.user)
    resp = client.get(f"/admin/accounts/customer/{customer.pk}/change/")
    assert resp.status_code == 302 and "/admin/login/" in resp["Location"]
    assert "accounts" not in resp.content.decode()


def test_linked_from_case_account_and_loan_pages(staff_client, relationship):
    customer, accounts, complaints, _closure, _appeal = relationship
    client, _user, _device = staff_client("agent")
    target = f'href="/admin/accounts/customer/{customer.pk}/change/"'
    loan = LoanRecord.objects.filter(account=accounts[0]).first()
    for url in (
        f"/admin/complaints/complaint/{complaints[0].pk}/change/",
        f"/admin/accounts/creditaccount/{accounts[0].pk}/change/",
        f"/admin/accounts/loanrecord/{loan.pk}/change/",
    ):
        resp = client.get(url)
        assert resp.status_code == 200, url
        assert target in resp.content.decode(), url


def test_zh_hans_page_reads_in_chinese(staff_client, relationship):
    customer, *_rest = relationship
    client, _user, _device = staff_client("agent")
    body = _page(client, customer, lang="zh-hans")
    assert 'lang="zh-hans"' in body
    assert "已关闭" in body or "关闭" in body  # the closed account's status, translated


def test_query_count_does_not_grow_with_the_relationship(
    system_user, staff_client, django_assert_max_num_queries
):
    small = _relationship(system_user, accounts=2, loans=3, complaints=2, seq=1)[0]
    large = _relationship(system_user, accounts=5, loans=40, complaints=30, seq=2)[0]
    client, _user, _device = staff_client("manager")
    _page(client, small)  # warm caches (content types, permissions of the session)
    counts = []
    for customer in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            _page(client, customer)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts
    # Session, user, OTP device, permissions, the customer, one per section: no N+1.
    with django_assert_max_num_queries(14):
        _page(client, large)
