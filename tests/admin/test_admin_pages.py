"""The accounts admin: no delete, auditors read-only, query budget, blind-index search, masking,
unmask with step-up and logging, freeze through a service with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from accounts.enums import (
    AccountStatus,
    CorrectionKind,
    RepaymentChannel,
    RiskSignalKind,
    RiskSignalSource,
    Severity,
)
from accounts.models import (
    CreditAccount,
    CreditReportCorrection,
    Customer,
    Repayment,
    RiskSignal,
)
from core.models import PiiAccessLog, StepUpVerification
from tests.factories import (
    AuthorizationEventFactory,
    CreditAccountFactory,
    CustomerFactory,
    StaffFactory,
)

from .conftest import totp_now, without_stepup

pytestmark = pytest.mark.django_db

QUERY_BUDGET = 15
ACCOUNTS_CHANGELISTS = [
    "/admin/accounts/user/",
    "/admin/accounts/customer/",
    "/admin/accounts/creditaccount/",
    "/admin/accounts/loanrecord/",
    "/admin/accounts/authorizationevent/",
    "/admin/accounts/repayment/",
    "/admin/accounts/risksignal/",
    "/admin/accounts/creditreportcorrection/",
    "/admin/core/stepupverification/",
    "/admin/core/piiaccesslog/",
]


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _seed(n: int, raised_by) -> None:
    for _i in range(n):
        event = AuthorizationEventFactory()
        loan = event.loan
        account = loan.account
        Repayment.objects.create(
            reference=f"RPT{loan.pk:012d}",
            account=account,
            loan=loan,
            amount=Decimal("10.00"),
            channel=RepaymentChannel.WALLET,
        )
        RiskSignal.objects.create(
            account=account,
            kind=RiskSignalKind.OVERDUE,
            severity=Severity.LOW,
            source=RiskSignalSource.SYSTEM,
            raised_by=raised_by,
        )
        CreditReportCorrection.objects.create(
            account=account, loan=loan, kind=CorrectionKind.OBJECTION, reason="x", origin="t:1"
        )
        StepUpVerification.objects.create(user=raised_by)
        PiiAccessLog.objects.create(user=raised_by, subject="customer:1", fields="phone")


def test_no_delete_anywhere(db):
    superuser = StaffFactory(is_superuser=True)
    request = _request(superuser)
    assert len(admin.site._registry) >= 10
    for model, model_admin in admin.site._registry.items():
        assert model_admin.has_delete_permission(request) is False, model
        assert "delete_selected" not in model_admin.get_actions(request), model


def test_auditor_changes_nothing(staff_client):
    client, auditor, _device = staff_client("auditor")
    request = _request(auditor)
    for model, model_admin in admin.site._registry.items():
        assert model_admin.has_add_permission(request) is False, model
        assert model_admin.has_change_permission(request) is False, model
        assert model_admin.get_actions(request) == {}, model
    account = CreditAccountFactory()
    page = client.get("/admin/accounts/creditaccount/")
    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()
    client.post(
        "/admin/accounts/creditaccount/",
        {
            "action": "freeze_accounts",
            "select_across": "0",
            ACTION_CHECKBOX_NAME: [account.pk],
            "reason_confirmed": "1",
            "reason": "auditor tries",
        },
    )
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert client.get(f"/admin/accounts/creditaccount/{account.pk}/change/").status_code == 200
    assert client.get(f"/admin/accounts/creditaccount/{account.pk}/history/").status_code == 200


def test_changelists_keep_a_fixed_query_budget(staff_client):
    client, manager, _device = staff_client("manager")
    counts = {}
    for rows in (3, 60):
        _seed(rows if rows == 3 else rows - 3, manager)
        counts[rows] = {}
        for url in ACCOUNTS_CHANGELISTS:
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url)
            assert response.status_code == 200, url
            counts[rows][url] = len(ctx.captured_queries)
    assert CreditAccount.objects.count() == 60
    for url in ACCOUNTS_CHANGELISTS:
        assert counts[3][url] == counts[60][url], (url, counts[3][url], counts[60][url])
        assert counts[60][url] <= QUERY_BUDGET, (url, counts[60][url])


def test_changelist_query_budget_assert_helper(staff_client, django_assert_max_num_queries):
    client, manager, _device = staff_client("manager")
    _seed(20, manager)
    for url in ACCOUNTS_CHANGELISTS:
        with django_assert_max_num_queries(QUERY_BUDGET):
            assert client.get(url).status_code == 200


def test_changelists_do_not_count_the_whole_table(staff_client):
    client, manager, _device = staff_client("manager")
    _seed(3, manager)
    with CaptureQueriesContext(connection) as ctx:
        client.get("/admin/accounts/loanrecord/?status__exact=posted")
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper()]
    assert counts, "a capped count is expected"
    for sql in counts:
        assert "LIMIT" in sql.upper(), sql


def test_search_customer_by_exact_phone_or_id_through_the_blind_index(staff_client):
    client, _agent, _device = staff_client("agent")
    wanted = CustomerFactory(name="王小明", phone="13912345678", national_id="11010519900101123X")
    other = CustomerFactory(name="李四", phone="13912345679")
    for term in ("13912345678", "139 1234 5678", "11010519900101123x"):
        page = client.get("/admin/accounts/customer/", {"q": term})
        html = page.content.decode()
        assert page.status_code == 200
        assert wanted.name in html, term
        assert other.name not in html, term
    # Masked, never in clear (a name search, so the number is not echoed from the query).
    page = client.get("/admin/accounts/customer/", {"q": "王小"}).content.decode()
    assert wanted.name in page
    assert other.name not in page
    assert "139****5678" in page
    assert "13912345678" not in page
    assert "11010519900101123X" not in page
    # A partial number finds nothing (no %contains% search on encrypted data).
    assert (
        wanted.name
        not in client.get("/admin/accounts/customer/", {"q": "1391234"}).content.decode()
    )
    # Accounts by the customer's phone; loans by reference prefix.
    account = CreditAccountFactory(customer=wanted)
    page = client.get("/admin/accounts/creditaccount/", {"q": "13912345678"}).content.decode()
    assert account.number in page
    change = client.get(f"/admin/accounts/customer/{wanted.pk}/change/").content.decode()
    assert "139****5678" in change
    assert "13912345678" not in change
    history = client.get(f"/admin/accounts/customer/{wanted.pk}/history/")
    assert history.status_code == 200
    assert "13912345678" not in history.content.decode()
    # No page shows (or restores) an old version (core.admin_history), so none unmasks one.
    version = wanted.history.latest()
    old = client.get(f"/admin/accounts/customer/{wanted.pk}/history/{version.history_id}/")
    assert old.status_code == 403
    assert "13912345678" not in old.content.decode()


def test_unmask_requires_stepup_and_logs_every_view(staff_client):
    client, manager, device = staff_client("manager")
    without_stepup(client)  # the sign-in's code counts for its own session only
    customer = CustomerFactory(phone="13712345678", national_id="110105199001011234")
    url = f"/admin/accounts/customer/{customer.pk}/unmask/"
    change = client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    assert url in change

    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/stepup/?next=")
    assert PiiAccessLog.objects.count() == 0

    stepped = client.post(response["Location"], {"otp_token": totp_now(device)})
    assert stepped["Location"] == url
    confirm = client.get(url).content.decode()
    assert "13712345678" not in confirm
    assert PiiAccessLog.objects.count() == 0
    for expected in (1, 2):
        shown = client.post(url).content.decode()
        assert "13712345678" in shown
        assert "110105199001011234" in shown
        assert PiiAccessLog.objects.count() == expected
    log = PiiAccessLog.objects.latest("pk")
    assert log.user == manager
    assert log.subject == f"customer:{customer.pk}"


def test_unmask_is_forbidden_without_the_permission(staff_client):
    client, agent, device = staff_client("agent")
    customer = CustomerFactory()
    StepUpVerification.objects.create(user=agent)
    url = f"/admin/accounts/customer/{customer.pk}/unmask/"
    assert url not in client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert PiiAccessLog.objects.count() == 0


def test_freeze_and_unfreeze_go_through_the_service_with_a_reason(staff_client):
    client, agent, _device = staff_client("agent")
    accounts = [CreditAccountFactory(), CreditAccountFactory()]
    ids = [a.pk for a in accounts]
    form = {"action": "freeze_accounts", "select_across": "0", "index": "0"}
    page = client.post("/admin/accounts/creditaccount/", {**form, ACTION_CHECKBOX_NAME: ids})
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    confirm = {
        "action": "freeze_accounts",
        "select_across": "0",
        ACTION_CHECKBOX_NAME: ids,
        "reason_confirmed": "1",
    }
    missing = client.post("/admin/accounts/creditaccount/", {**confirm, "reason": ""})
    assert missing.status_code == 200
    assert CreditAccount.objects.filter(status=AccountStatus.FROZEN).count() == 0

    done = client.post(
        "/admin/accounts/creditaccount/", {**confirm, "reason": "Customer reported a lost phone"}
    )
    assert done.status_code == 302
    for account in accounts:
        account.refresh_from_db()
        assert account.status == AccountStatus.FROZEN
        record = account.history.latest()
        assert record.history_user == agent
        assert record.history_change_reason == "Customer reported a lost phone"

    confirm["action"] = "unfreeze_accounts"
    client.post("/admin/accounts/creditaccount/", {**confirm, "reason": "Phone recovered"})
    assert CreditAccount.objects.filter(pk__in=ids, status=AccountStatus.ACTIVE).count() == 2
    # Unfreezing an active account is refused by the service: an error message, no change.
    response = client.post(
        "/admin/accounts/creditaccount/", {**confirm, "reason": "again"}, follow=True
    )
    errors = [m for m in response.context["messages"] if m.level == messages.ERROR]
    assert len(errors) == 2
    assert CreditAccount.objects.filter(pk__in=ids, status=AccountStatus.ACTIVE).count() == 2


def test_domain_rows_cannot_be_edited_in_the_change_form(staff_client):
    client, _agent, _device = staff_client("agent")
    account = CreditAccountFactory()
    url = f"/admin/accounts/creditaccount/{account.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"status": "closed", "credit_limit": "999999.00"})
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert client.get("/admin/accounts/creditaccount/add/").status_code == 403
    assert Customer.objects.count() == 1


def test_auditor_reads_every_changelist_and_history(staff_client):
    """The auditor role holds every view permission of the project's apps: each registered
    changelist of those apps opens, read-only."""
    client, _auditor, _device = staff_client("auditor")
    project_apps = {"accounts", "backoffice", "complaints", "closures", "notices"}
    opened = 0
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in project_apps:
            continue
        response = client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
        assert response.status_code == 200, opts.label
        assert 'name="action"' not in response.content.decode(), opts.label
        opened += 1
    assert opened >= 10


def test_large_table_paginator_caps_the_count(db):
    from core.admin_helpers import LargeTablePaginator

    class FiveRowCap(LargeTablePaginator):
        count_cap = 5

    for _i in range(8):
        CreditAccountFactory()
    with CaptureQueriesContext(connection) as ctx:
        count = FiveRowCap(CreditAccount.objects.order_by("pk"), 2).count
    assert count >= 6  # the cap plus one, or the planner's estimate when larger
    assert "LIMIT 6" in ctx.captured_queries[0]["sql"].upper()
    small = FiveRowCap(CreditAccount.objects.filter(pk__lt=0).order_by("pk"), 2)
    assert small.count == 0
    # Under the cap the count is exact.
    three = list(CreditAccount.objects.order_by("pk").values_list("pk", flat=True)[:3])
    assert FiveRowCap(CreditAccount.objects.filter(pk__in=three).order_by("pk"), 2).count == 3
