"""The ledger feed's API (`/api/v1/core/...`): single and batch bodies, idempotency by the
core's reference, 409 on another body, bad input refused per item with nothing half-written,
facts recorded and flagged (register breach, closed account, overpayment) and alerted, the
pre-check, and the queries of a batch of 100."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.enums import AccountStatus, CreditKind, LoanStatus, PartnerInterfaceStatus
from accounts.models import (
    AccountCredit,
    AuthorizationEvent,
    CreditAccount,
    Customer,
    Installment,
    LoanRecord,
    PartnerInterface,
    Repayment,
)
from core import crypto
from core.models import ActivityEntry
from notices.models import Notice
from tests.factories import CreditAccountFactory
from tests.ledger.conftest import customer_item, loan_item, repayment_item

pytestmark = pytest.mark.django_db


def _book_customer(core: APIClient, n: int, **overrides) -> tuple[dict, dict]:
    item = customer_item(n, **overrides)
    r = core.post("/api/v1/core/customers/", item, format="json")
    assert r.status_code == 201, r.content
    return item, r.json()


# --- Permission ---------------------------------------------------------------------------------


def test_the_feed_needs_the_core_permission(db):
    customer_user = CreditAccountFactory().customer.user
    client = APIClient()
    client.force_authenticate(customer_user)
    r = client.post("/api/v1/core/loans/", {}, format="json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert APIClient().post("/api/v1/core/loans/", {}, format="json").status_code == 401


# --- Customers ----------------------------------------------------------------------------------


def test_customer_created_encrypted_and_idempotent(core):
    item, body = _book_customer(core, 1)
    customer = Customer.objects.get(pk=body["customer"])
    account = CreditAccount.objects.get(pk=body["account"])
    assert customer.core_reference == "C-000001" and customer.user.username == "C-000001"
    assert customer.national_id == item["national_id"]
    assert customer.national_id_index == crypto.blind_index(item["national_id"])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT national_id, phone FROM accounts_customer WHERE id = %s", [customer.pk]
        )
        stored = cursor.fetchone()
    assert item["national_id"] not in stored[0] and item["phone"] not in stored[1]
    assert account.customer_id == customer.pk and account.available_credit == Decimal("10000")
    assert customer.history.count() == 1 and customer.history.first().history_user_id
    assert ActivityEntry.objects.filter(object_type="accounts.customer", object_id=str(customer.pk))
    again = core.post("/api/v1/core/customers/", item, format="json")
    assert again.status_code == 201 and again.json() == body
    assert Customer.objects.count() == 1 and customer.history.count() == 1


def test_customer_update_needs_a_newer_updated_at(core):
    item, body = _book_customer(core, 2)
    newer = customer_item(2, name="新名字", updated_at="2026-02-01T09:00:00+08:00")
    newer["account"]["credit_limit"] = "15000.00"
    r = core.post("/api/v1/core/customers/", newer, format="json")
    assert r.status_code == 201 and r.json()["customer"] == body["customer"]
    customer = Customer.objects.get(pk=body["customer"])
    assert customer.name == "新名字"
    assert CreditAccount.objects.get(pk=body["account"]).credit_limit == Decimal("15000.00")
    older = customer_item(2, name="旧名字", updated_at="2025-12-01T09:00:00+08:00")
    r = core.post("/api/v1/core/customers/", older, format="json")
    assert r.status_code == 200 and r.json()["ignored"] == "stale_update"
    customer.refresh_from_db()
    assert customer.name == "新名字"
    same_time = customer_item(2, name="又一个", updated_at="2026-02-01T09:00:00+08:00")
    r = core.post("/api/v1/core/customers/", same_time, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "reference_conflict"


def test_customer_with_a_known_national_id_is_refused(core):
    _book_customer(core, 3)
    other = customer_item(4, national_id=customer_item(3)["national_id"])
    r = core.post("/api/v1/core/customers/", other, format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "duplicate_customer"
    assert not Customer.objects.filter(core_reference="C-000004").exists()


# --- Loans --------------------------------------------------------------------------------------


def test_loan_booked_with_schedule_authorization_and_balance(core):
    _item, body = _book_customer(core, 5)
    number = customer_item(5)["account"]["number"]
    item = loan_item(number, 1)
    r = core.post("/api/v1/core/loans/", item, format="json")
    assert r.status_code == 201 and "flags" not in r.json()
    loan = LoanRecord.objects.get(pk=r.json()["id"])
    assert loan.reference == item["reference"] and loan.fees == Decimal("3.00")
    assert list(loan.installments.values_list("amount", flat=True)) == [Decimal("100.00")] * 3
    event = AuthorizationEvent.objects.get(loan=loan)
    assert event.ip_address == "116.228.35.17" and event.consent_reference == "CS00000001"
    account = CreditAccount.objects.get(pk=body["account"])
    assert account.outstanding_balance == Decimal("300.00")
    assert account.available_credit == Decimal("9700.00")
    assert loan.history.first().history_change_reason == "booked by the lending core"
    # The same body answers the same; another body for the reference answers 409.
    again = core.post("/api/v1/core/loans/", item, format="json")
    assert again.status_code == 201 and again.json() == {"id": loan.pk}
    changed = {**item, "amount": "301.00"}
    r = core.post("/api/v1/core/loans/", changed, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "reference_conflict"
    assert LoanRecord.objects.count() == 1 and Installment.objects.count() == 3
    account.refresh_from_db()
    assert account.outstanding_balance == Decimal("300.00")


def test_loan_breaking_the_register_is_stored_flagged_and_alerted(core, core_user):
    manager_email = "boss@example.com"
    from tests.factories.closures import staff

    boss = staff("manager")
    boss.email = manager_email
    boss.save()
    PartnerInterface.objects.create(
        code="PI-QUICK", partner="速贷通", permitted_kinds=["cash"],
        permitted_channels=["partner_api"], max_amount=Decimal("5000"),
        status=PartnerInterfaceStatus.SUSPENDED,
    )  # fmt: skip
    _book_customer(core, 6)
    number = customer_item(6)["account"]["number"]
    item = loan_item(number, 2, kind="cash", channel="partner_api", partner_interface="PI-QUICK",
                     schedule=[])  # fmt: skip
    check = core.post(
        "/api/v1/core/authorizations/check/",
        {"account": number, "partner_interface": "PI-QUICK", "kind": "cash",
         "channel": "partner_api", "amount": "100.00"},
        format="json",
    )  # fmt: skip
    assert check.json() == {"allowed": False, "code": "interface_suspended"}
    # The refusal is on record, on the interface, with who asked and for what.
    from core.models import ActivityEntry

    (refused,) = ActivityEntry.objects.filter(action="accounts.partnerinterface.precheck_refused")
    interface = PartnerInterface.objects.get(code="PI-QUICK")
    assert refused.object_id == str(interface.pk) and refused.object_label == "PI-QUICK"
    assert refused.actor_id == core_user.pk
    assert "¥100.00" in refused.reason and "interface_suspended" in refused.reason
    r = core.post("/api/v1/core/loans/", item, format="json")
    assert r.status_code == 201 and r.json()["flags"] == ["interface_suspended"]
    loan = LoanRecord.objects.get(pk=r.json()["id"])
    assert loan.register_violation == "interface_suspended"
    notice = Notice.objects.get(event="staff.ledger_flags")
    assert notice.recipient_id == boss.pk and item["reference"] in notice.body
    unflagged = core.post(
        "/api/v1/core/authorizations/check/",
        {"account": number, "partner_interface": "", "kind": "cash", "channel": "app",
         "amount": "100.00"},
        format="json",
    )  # fmt: skip
    assert unflagged.json() == {"allowed": True}
    assert ActivityEntry.objects.filter(action__endswith="precheck_refused").count() == 1


def test_loan_on_a_closed_account_is_stored_and_flagged(core):
    _item, body = _book_customer(core, 7)
    CreditAccount.objects.filter(pk=body["account"]).update(
        status=AccountStatus.CLOSED, closed_at=timezone.now()
    )
    number = customer_item(7)["account"]["number"]
    r = core.post("/api/v1/core/loans/", loan_item(number, 3), format="json")
    assert r.status_code == 201 and r.json()["flags"] == ["account_not_lending"]
    assert LoanRecord.objects.get(pk=r.json()["id"]).booked_while_not_lending
    assert Notice.objects.filter(event="staff.ledger_flags").count() == 1


# --- Repayments ---------------------------------------------------------------------------------


def test_repayment_allocates_and_excess_goes_to_the_credit_balance(core):
    _item, body = _book_customer(core, 8)
    number = customer_item(8)["account"]["number"]
    loan_ref = loan_item(number, 4)["reference"]
    core.post("/api/v1/core/loans/", loan_item(number, 4), format="json")
    r = core.post(
        "/api/v1/core/repayments/", repayment_item(number, 1, loan=loan_ref), format="json"
    )
    assert r.status_code == 201 and "flags" not in r.json()
    first = Installment.objects.filter(loan__reference=loan_ref).order_by("number").first()
    assert first.paid_amount == Decimal("100.00") and first.paid_on is not None
    r = core.post(
        "/api/v1/core/repayments/", repayment_item(number, 2, amount="350.00"), format="json"
    )
    assert r.status_code == 201
    assert r.json()["flags"] == ["overpayment"] and r.json()["excess"] == "150.00"
    account = CreditAccount.objects.get(pk=body["account"])
    assert account.outstanding_balance == 0 and account.credit_balance == Decimal("150.00")
    assert account.available_credit == account.credit_limit
    assert Repayment.objects.get(pk=r.json()["id"]).excess_amount == Decimal("150.00")
    credit = AccountCredit.objects.get(account=account)
    assert credit.kind == CreditKind.OVERPAYMENT and credit.held_amount == Decimal("150.00")
    assert LoanRecord.objects.get(reference=loan_ref).status == LoanStatus.REPAID
    assert Notice.objects.filter(event="staff.ledger_flags").exists()


# --- Bad input ----------------------------------------------------------------------------------


def test_bad_items_are_refused_per_item_and_the_rest_goes_on(core):
    _book_customer(core, 9)
    _book_customer(core, 10)
    number = customer_item(9)["account"]["number"]
    other_number = customer_item(10)["account"]["number"]
    good = loan_item(number, 5)
    other_auth = loan_item(number, 6)
    other_auth["authorization"]["account"] = other_number
    wrong_loan = loan_item(number, 7)
    wrong_loan["authorization"]["loan"] = good["reference"]
    items = [
        good,
        loan_item("6200000000000000", 8),  # unknown account
        loan_item(number, 9, amount="0.00"),
        loan_item(number, 10, amount="-5"),
        other_auth,
        wrong_loan,
        loan_item(number, 11, merchant="a\x00b"),
        loan_item(number, 12, kind="mortgage"),
        loan_item(number, 13, merchant="x" * 100_000),
        "not an object",
        {**loan_item(number, 14), "extra": 1},
        loan_item(number, 15, schedule=[{"due_on": "2026-13-01", "amount": "300.00"}]),
        loan_item(number, 16, schedule=[{"due_on": "2030-01-01", "amount": "299.00"}]),
    ]
    r = core.post("/api/v1/core/loans/", {"items": items}, format="json")
    assert r.status_code == 207, r.content
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201] + [400] * 12
    codes = [x["error"]["code"] for x in results[1:]]
    assert codes == [
        "unknown_account", "invalid_amount", "invalid_amount", "authorization_mismatch",
        "authorization_mismatch", "invalid", "invalid", "invalid", "invalid", "invalid",
        "invalid", "invalid",
    ]  # fmt: skip
    assert set(results[6]["error"]["fields"]) == {"merchant"}
    assert set(results[8]["error"]["fields"]) == {"merchant"}
    assert "extra" in results[10]["error"]["fields"]
    assert r.json()["accepted"] == 1 and r.json()["refused"] == 12
    # Nothing half-written: one loan, its three installments, one event.
    assert list(LoanRecord.objects.values_list("reference", flat=True)) == [good["reference"]]
    assert Installment.objects.count() == 3 and AuthorizationEvent.objects.count() == 1


def test_bad_repayments_and_bodies(core):
    _book_customer(core, 11)
    _book_customer(core, 12)
    number = customer_item(11)["account"]["number"]
    other = customer_item(12)["account"]["number"]
    core.post("/api/v1/core/loans/", loan_item(other, 17), format="json")
    items = [
        repayment_item(number, 3, loan="L-NOPE"),
        repayment_item(number, 4, loan=loan_item(other, 17)["reference"]),
        repayment_item(number, 5, amount="0"),
        repayment_item(number, 6, paid_at="yesterday"),
    ]
    r = core.post("/api/v1/core/repayments/", {"items": items}, format="json")
    codes = [x["error"]["code"] for x in r.json()["results"]]
    assert codes == ["unknown_loan", "loan_not_on_account", "invalid_amount", "invalid"]
    assert not Repayment.objects.exists()
    too_many = {"items": [repayment_item(number, 100 + k) for k in range(1001)]}
    r = core.post("/api/v1/core/repayments/", too_many, format="json")
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = core.post("/api/v1/core/repayments/", [1, 2], format="json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid"
    r = core.post("/api/v1/core/repayments/", b'{"reference": ', content_type="application/json")
    assert r.status_code == 400 and "error" in r.json()


# --- A batch of 100 -----------------------------------------------------------------------------


def test_a_batch_of_100_in_a_fixed_number_of_queries(core, django_assert_max_num_queries):
    customers = [customer_item(1000 + k) for k in range(100)]
    with django_assert_max_num_queries(40):
        r = core.post("/api/v1/core/customers/", {"items": customers}, format="json")
    assert r.status_code == 200 and r.json()["accepted"] == 100
    numbers = [c["account"]["number"] for c in customers]
    loans = [loan_item(n, 5000 + k) for k, n in enumerate(numbers)]
    with django_assert_max_num_queries(40):
        r = core.post("/api/v1/core/loans/", {"items": loans}, format="json")
    assert r.status_code == 200 and r.json()["accepted"] == 100
    assert Installment.objects.count() == 300
    repayments = [repayment_item(n, 7000 + k, amount="150.00") for k, n in enumerate(numbers)]
    with django_assert_max_num_queries(40):
        r = core.post("/api/v1/core/repayments/", {"items": repayments}, format="json")
    assert r.status_code == 200 and r.json()["accepted"] == 100
    assert set(
        CreditAccount.objects.filter(number__in=numbers).values_list(
            "outstanding_balance", flat=True
        )
    ) == {Decimal("150.00")}
    # Every row has its history and trail row.
    assert ActivityEntry.objects.filter(object_type="accounts.repayment").count() == 100
    assert Repayment.history.count() == 100
    # The batch again: the same answers, nothing more written.
    with django_assert_max_num_queries(10):
        again = core.post("/api/v1/core/repayments/", {"items": repayments}, format="json")
    assert [x["id"] for x in again.json()["results"]] == [x["id"] for x in r.json()["results"]]
    assert Repayment.objects.count() == 100


def test_same_reference_twice_in_one_batch(core):
    _book_customer(core, 13)
    number = customer_item(13)["account"]["number"]
    item = loan_item(number, 18)
    r = core.post(
        "/api/v1/core/loans/",
        {"items": [item, item, {**item, "amount": "1.00"}]},
        format="json",
    )
    results = r.json()["results"]
    assert results[0]["id"] == results[1]["id"] and results[2]["status"] == 409
    assert LoanRecord.objects.count() == 1
    assert timezone.now() - LoanRecord.objects.get().created_at > timedelta(days=9)


def test_create_service_user_core_token_feeds_the_ledger_and_prechecks(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_service_user", "lending-core-2", "--permission", "core", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    r = client.post("/api/v1/core/customers/", customer_item(77), format="json")
    assert r.status_code == 201
    bad = client.post(
        "/api/v1/core/authorizations/check/",
        {"account": "6200000000000000", "kind": "cash", "channel": "app", "amount": "1"},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_account"
    nul = client.post(
        "/api/v1/core/authorizations/check/",
        {"account": "62\x00", "kind": "cash", "channel": "app", "amount": "1"},
        format="json",
    )
    assert nul.status_code == 400 and "account" in nul.json()["error"]["fields"]
