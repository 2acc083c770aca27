"""Portal pages of the accounts and notices apps: access, content, paging, escaping, budgets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import StaffFactory, UserFactory
from tests.factories.portal import customer_with_account, loans_for, portal_notice

pytestmark = pytest.mark.django_db

PAGES = ["/portal/", "/portal/messages/"]


def _account_page(account) -> str:
    return f"/portal/accounts/{account.pk}/"


# --- Access -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/portal/accounts/1/"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/?next=")


def test_staff_session_never_sees_customer_pages(client, login_as):
    customer, account, _ = customer_with_account(loans=1)
    staff = StaffFactory(role="agent")
    login_as(staff)
    for path in [*PAGES, _account_page(account)]:
        response = client.get(path)
        assert response.status_code == 403, path
        assert customer.name not in response.content.decode()


def test_login_without_customer_profile_is_refused(client, login_as):
    login_as(UserFactory())
    assert client.get("/portal/").status_code == 403


def test_accounts_list_shows_only_own_accounts(client, login_as):
    mine, my_account, _ = customer_with_account()
    other, other_account, _ = customer_with_account()
    login_as(mine.user)
    response = client.get("/portal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/portal/accounts/{my_account.pk}/" in body
    assert f"/portal/accounts/{other_account.pk}/" not in body
    assert mine.name in body  # the header names the customer


def test_another_customers_account_is_404(client, login_as):
    mine, _, _ = customer_with_account()
    _, other_account, _ = customer_with_account(loans=2)
    login_as(mine.user)
    assert client.get(_account_page(other_account)).status_code == 404
    assert client.get("/portal/accounts/999999999/").status_code == 404


def test_account_page_lists_loans_newest_first_with_actions(client, login_as):
    customer, account, loans = customer_with_account(loans=3)
    login_as(customer.user)
    response = client.get(_account_page(account))
    assert response.status_code == 200
    body = response.content.decode()
    positions = [body.index(loan.reference) for loan in loans]
    assert positions == sorted(positions, reverse=True)  # newest first
    for loan in loans:
        assert (
            f"/portal/complaints/new/?category=unauthorized_loan&amp;account={account.pk}"
            f"&amp;loan_records={loan.pk}"
        ) in body
    assert f"/portal/accounts/{account.pk}/close/" in body  # active: may close
    assert "/portal/appeals/new/" not in body


def test_disputed_and_reversed_loans_offer_no_dispute_link(client, login_as):
    from accounts.models import LoanRecord

    customer, account, loans = customer_with_account(loans=3)
    LoanRecord.objects.filter(pk=loans[0].pk).update(status="disputed")
    LoanRecord.objects.filter(pk=loans[1].pk).update(status="reversed")
    login_as(customer.user)
    body = client.get(_account_page(account)).content.decode()
    links = [f'&amp;loan_records={loan.pk}"' for loan in loans]
    assert [link in body for link in links] == [False, False, True]


def test_closed_account_offers_no_close_link(client, login_as):
    customer, account, _ = customer_with_account()
    account.status = "closed"
    from django.utils import timezone

    account.closed_at = timezone.now()
    account.save()
    login_as(customer.user)
    body = client.get(_account_page(account)).content.decode()
    assert "/close/" not in body


def test_loans_keyset_paging_walks_every_row_once(client, login_as):
    customer, account, loans = customer_with_account(loans=45)
    login_as(customer.user)
    seen: list[str] = []
    url = _account_page(account)
    pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        page = response.context["page"]
        seen.extend(loan.reference for loan in page.rows)
        pages += 1
        url = f"{_account_page(account)}?older={page.older}" if page.older else None
    assert pages == 3
    assert seen == [loan.reference for loan in reversed(loans)]
    # and back: "newer" from the last page returns the middle page
    last = response.context["page"]
    back = client.get(f"{_account_page(account)}?newer={last.newer}").context["page"]
    assert [loan.reference for loan in back.rows] == seen[20:40]


@pytest.mark.parametrize("cursor", ["x", "1.2.3", "-1.-1", "9" * 39 + ".1", "", "1e9.1", "１.２"])
def test_malformed_cursor_shows_a_page_not_an_error(client, login_as, cursor):
    customer, account, _ = customer_with_account(loans=3)
    login_as(customer.user)
    for param in ("older", "newer"):
        response = client.get(_account_page(account), {param: cursor})
        assert response.status_code == 200


# --- Query budgets ---------------------------------------------------------------------------


def _queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return len(ctx.captured_queries)


def test_accounts_list_query_budget_does_not_grow(client, login_as):
    from tests.factories import CreditAccountFactory

    customer, _, _ = customer_with_account()
    login_as(customer.user)
    CreditAccountFactory.create_batch(2, customer=customer)
    few = _queries(client, "/portal/")
    CreditAccountFactory.create_batch(37, customer=customer)
    many = _queries(client, "/portal/")
    assert few == many
    assert many <= 15


def test_account_page_query_budget_does_not_grow(client, login_as):
    customer, account, _ = customer_with_account(loans=3)
    login_as(customer.user)
    few = _queries(client, _account_page(account))
    loans_for(account, 37)
    many = _queries(client, _account_page(account))
    assert few == many
    assert many <= 15


def test_messages_query_budget_does_not_grow(client, login_as):
    customer, _, _ = customer_with_account()
    login_as(customer.user)
    for _i in range(3):
        portal_notice(user=customer.user)
    few = _queries(client, "/portal/messages/")
    for _i in range(37):
        portal_notice(user=customer.user)
    many = _queries(client, "/portal/messages/")
    assert few == many
    assert many <= 15


# --- Messages inbox ---------------------------------------------------------------------------


def test_inbox_shows_own_portal_notices_escaped(client, login_as):
    customer, _, _ = customer_with_account()
    other, _, _ = customer_with_account()
    portal_notice(user=customer.user, subject="<script>alert('s')</script>", body="<b>hi</b> 你好")
    portal_notice(user=other.user, subject="someone else's notice")
    login_as(customer.user)
    body = client.get("/portal/messages/").content.decode()
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(&#x27;s&#x27;)&lt;/script&gt;" in body
    assert "&lt;b&gt;hi&lt;/b&gt; 你好" in body
    assert "someone else" not in body


def test_customer_name_is_escaped_in_the_header(client, login_as):
    customer, _, _ = customer_with_account(name="<script>x()</script>")
    login_as(customer.user)
    body = client.get("/portal/").content.decode()
    assert "<script>x()" not in body
    assert "&lt;script&gt;x()&lt;/script&gt;" in body


# --- Language ---------------------------------------------------------------------------------


def test_zh_hans_by_default_and_lang_switch_is_remembered(client, login_as):
    customer, _, _ = customer_with_account()
    login_as(customer.user)
    assert '<html lang="zh-hans">' in client.get("/portal/").content.decode()
    response = client.get("/portal/?lang=en")
    assert '<html lang="en">' in response.content.decode()
    assert response.cookies["django_language"].value == "en"
    # remembered on the next page, without the parameter
    assert '<html lang="en">' in client.get("/portal/messages/").content.decode()
    client.get("/portal/?lang=zh-hans")
    assert '<html lang="zh-hans">' in client.get("/portal/").content.decode()


def test_unknown_lang_value_is_ignored(client, login_as):
    customer, _, _ = customer_with_account()
    login_as(customer.user)
    response = client.get("/portal/", {"lang": "<script>"})
    assert response.status_code == 200
    assert "django_language" not in response.cookies


def test_static_css_is_served_by_the_app(client):
    body = client.get("/portal/login/").content.decode()
    assert "/static/portal/portal.css" in body
    assert "http" not in body.split("<body")[0].replace("http-equiv", "")  # no CDN in <head>


def test_an_english_browser_still_gets_chinese_until_the_customer_switches(client):
    page = client.get("/portal/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "登录" in page
    client.get("/portal/login/?lang=en")
    page = client.get("/portal/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in page


def test_api_clients_may_ask_for_english_with_accept_language(client):
    response = client.post(
        "/api/v1/auth/token/", {}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The input is not valid."


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_money_reads_with_thousands_separators_in_both_languages(client, login_as, lang):
    from accounts.models import CreditAccount

    customer, account, _loans = customer_with_account(loans=1)
    CreditAccount.objects.filter(pk=account.pk).update(credit_limit="20000.00")
    login_as(customer.user)
    suffix = "?lang=en" if lang == "en" else ""
    body = client.get(_account_page(account) + suffix).content.decode()
    assert f'lang="{lang}"' in body
    assert "¥20,000.00" in body and "¥20000.00" not in body


def test_the_language_switch_keeps_the_pages_query(client, login_as):
    """Switching language on page 2 of a loan list (or any filtered page) stays on that page."""
    customer, account, _ = customer_with_account(loans=1)
    login_as(customer.user)
    html = client.get(_account_page(account), {"before": "123", "q": "a&b"}).content.decode()
    assert 'href="?before=123&amp;q=a%26b&amp;lang=en"' in html
    client.cookies["django_language"] = "en"
    html = client.get(_account_page(account), {"before": "123"}).content.decode()
    assert 'href="?before=123&amp;lang=zh-hans"' in html
