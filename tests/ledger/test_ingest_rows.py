"""The feed's fast paths write what the generic paths write: `rows_copy_insert` the rows,
history rows and trail rows of `bulk_insert.rows_insert_with_history`; `rows_copy_update` one
history row ("~") with the new values and one trail row per updated row; the import's chunk
(one overdue-figures refresh at its end, instances loaded without the ORM's __init__) the same
rows and figures as the same items booked by the API's separate batches."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from accounts.bulk_insert import rows_insert_with_history
from accounts.management.commands.import_ledger import import_file
from accounts.models import (
    AccountCredit,
    AccountDelinquency,
    CreditAccount,
    Customer,
    Installment,
    LoanRecord,
    Repayment,
    RepaymentAllocation,
)
from accounts.services.ingest import (
    FEED_REASON,
    customers_ingest,
    loans_ingest,
    repayments_ingest,
)
from accounts.services.ingest_rows import rows_copy_insert, rows_copy_update
from core.audit import system_actor
from core.models import ActivityEntry
from tests.ledger.conftest import customer_item, loan_item, repayment_item

pytestmark = pytest.mark.django_db


def _history(model, pk) -> list[dict]:
    return list(
        model.history.filter(id=pk)
        .order_by("history_id")
        .values(*[f.attname for f in model.history.model._meta.concrete_fields])
    )


def _trail(model, pk) -> list[dict]:
    return list(
        ActivityEntry.objects.filter(object_type=model._meta.label_lower, object_id=str(pk))
        .order_by("id")
        .values("at", "actor_id", "actor_username", "action", "object_label", "changes",
                "reason", "ip_address", "request_id", "xact")
    )  # fmt: skip


def _account():
    actor = system_actor("tests")
    item = customer_item(41)
    [result] = customers_ingest(actor=actor, items=[item])
    assert result.status == 201
    return actor, CreditAccount.objects.get(number=item["account"]["number"])


def _loan_row(account, reference: str, now) -> dict:
    return {
        "reference": reference, "account_id": account.pk, "amount": Decimal("300.00"),
        "outstanding_amount": Decimal("300.00"), "fees": Decimal("3.00"), "interest": Decimal(0),
        "kind": "installment", "merchant": "京东自营", "channel": "app",
        "partner_interface": "", "status": "posted", "created_at": now,
        "due_date": now.date(), "collection_paused": False, "core_hash": "h" * 64,
        "register_violation": "", "booked_while_not_lending": False,
    }  # fmt: skip


def test_copy_insert_writes_the_rows_of_the_generic_writer():
    actor, account = _account()
    now = timezone.now()
    fast, generic = [_loan_row(account, "FAST-1", now)], [_loan_row(account, "GENERIC-1", now)]
    rows_copy_insert(LoanRecord, fast, actor=actor, reason="why", when=now)
    rows_insert_with_history(LoanRecord, generic, actor=actor, reason="why", when=now)
    fast_id, generic_id = fast[0]["id"], generic[0]["id"]
    assert fast_id != generic_id
    values = {pk: LoanRecord.objects.filter(pk=pk).values().get() for pk in (fast_id, generic_id)}
    assert values[fast_id] == {
        **values[generic_id], "id": fast_id, "reference": "FAST-1"
    }  # fmt: skip
    [fast_history], [generic_history] = (
        _history(LoanRecord, fast_id),
        _history(LoanRecord, generic_id),
    )
    assert fast_history["history_type"] == "+" and fast_history["history_user_id"] == actor.pk
    assert fast_history["history_change_reason"] == "why" and fast_history["history_date"] == now
    del fast_history["history_id"], generic_history["history_id"]
    assert fast_history == {**generic_history, "id": fast_id, "reference": "FAST-1"}
    [fast_trail], [generic_trail] = _trail(LoanRecord, fast_id), _trail(LoanRecord, generic_id)
    assert fast_trail["action"] == "accounts.loanrecord.create"
    assert fast_trail == {**generic_trail, "object_label": f"loanrecord {fast_id}"}


def test_copy_insert_encrypts_as_the_generic_writer():
    """Customers: encrypted on the way in (the same plaintext read back), defaults filled."""
    actor, account = _account()
    source = Customer.objects.get(pk=account.customer_id)
    now = timezone.now()

    def row(n: int) -> dict:
        user = {"username": f"enc-{n}", "first_name": "x", "email": "", "password": "!",
                "date_joined": now}  # fmt: skip
        rows_insert_with_history(type(source.user), [user], actor=actor, reason="r", when=now)
        return {"user_id": user["id"], "name": "客户", "national_id": "110101199003077777",
                "national_id_index": f"idx-{n}", "phone": "13900000000", "phone_index": "p",
                "preferred_language": "zh-hans", "created_at": now,
                "core_reference": f"ENC-{n}", "core_updated_at": None, "core_hash": "h"}  # fmt: skip

    fast, generic = [row(1)], [row(2)]
    rows_copy_insert(Customer, fast, actor=actor, reason="r", when=now)
    rows_insert_with_history(Customer, generic, actor=actor, reason="r", when=now)
    a, b = Customer.objects.get(pk=fast[0]["id"]), Customer.objects.get(pk=generic[0]["id"])
    assert (a.national_id, a.phone) == (b.national_id, b.phone) == (
        "110101199003077777", "13900000000"
    )  # fmt: skip
    ha, hb = a.history.get(), b.history.get()
    assert (ha.national_id, ha.phone, ha.history_type) == (hb.national_id, hb.phone, "+")
    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id, phone FROM accounts_customer WHERE id = %s", [a.pk])
        stored = cursor.fetchone()
    assert "110101199003077777" not in stored[0] and "13900000000" not in stored[1]


def test_copy_update_writes_a_history_row_and_a_trail_row_per_row():
    actor, account = _account()
    [result] = loans_ingest(actor=actor, items=[loan_item(account.number, 42)])
    installments = list(Installment.objects.filter(loan_id=result.body["id"]).order_by("pk"))
    when = timezone.now()
    for inst in installments[:2]:
        inst.paid_amount = inst.amount
        inst.paid_on = when.date()
    rows_copy_update(installments[:2], ["paid_amount", "paid_on"], actor=actor, reason="paid",
                     when=when)  # fmt: skip
    for inst in installments[:2]:
        stored = Installment.objects.filter(pk=inst.pk).values().get()
        assert stored["paid_amount"] == inst.amount and stored["paid_on"] == when.date()
        created, updated = _history(Installment, inst.pk)
        assert created["history_type"] == "+"
        assert updated == {
            **stored, "history_id": updated["history_id"],
            "history_date": when, "history_change_reason": "paid", "history_type": "~",
            "history_user_id": actor.pk,
        }  # fmt: skip
        trail = _trail(Installment, inst.pk)
        assert [t["action"] for t in trail] == [
            "accounts.installment.create", "accounts.installment.update"
        ]  # fmt: skip
        assert trail[1]["changes"] == {} and trail[1]["reason"] == "paid"
    untouched = installments[2]
    assert len(_history(Installment, untouched.pk)) == 1
    assert Installment.objects.get(pk=untouched.pk).paid_on is None


def _snapshot(numbers: list[str]) -> list:
    """What was booked on these accounts, by account and in order, without ids or times."""
    out = []
    for number in numbers:
        account = CreditAccount.objects.get(number=number)
        d = AccountDelinquency.objects.get(account=account)
        out.append((
            account.outstanding_balance, account.available_credit, account.credit_balance,
            (d.overdue_count, d.overdue_open, d.amount_past_due, d.oldest_past_due_on),
            [(loan.amount, loan.outstanding_amount, loan.status,
              [(i.number, i.amount, i.paid_amount, i.paid_on, i.history.count())
               for i in loan.installments.order_by("number")], loan.history.count())
             for loan in LoanRecord.objects.filter(account=account).order_by("pk")],
            [(r.amount, r.excess_amount, r.history.count(),
              sorted(RepaymentAllocation.objects.filter(repayment=r)
                     .values_list("installment__number", "amount")))
             for r in Repayment.objects.filter(account=account).order_by("pk")],
            list(AccountCredit.objects.filter(account=account).values_list("kind", "amount")),
            account.history.count(),
            ActivityEntry.objects.filter(object_type="accounts.creditaccount",
                                         object_id=str(account.pk)).count(),
        ))  # fmt: skip
    return out


def _customer_lines(n: int) -> list[tuple[str, dict]]:
    """A customer with a loan past due (taken 200 days ago), a repayment naming it and late,
    another naming none and one beyond what is owed."""
    c = customer_item(n)
    number = c["account"]["number"]
    taken = timezone.now() - timedelta(days=200)
    loan = loan_item(number, n, created_at=taken.isoformat())
    loan["schedule"] = [
        {"due_on": (taken + timedelta(days=30 * k)).date().isoformat(), "amount": "100.00"}
        for k in (1, 2, 3)
    ]
    purchase = loan_item(number, n + 1, kind="purchase", schedule=None, authorization=None,
                         amount="50.00", created_at=(taken + timedelta(days=3)).isoformat())  # fmt: skip
    return [
        ("customer", c),
        ("loan", loan),
        ("loan", purchase),
        ("repayment", repayment_item(number, n, amount="100.00", loan=loan["reference"],
                                     paid_at=(taken + timedelta(days=45)).isoformat())),
        ("repayment", repayment_item(number, n + 1, amount="50.00",
                                     paid_at=(taken + timedelta(days=50)).isoformat())),
        ("repayment", repayment_item(number, n + 2, amount="400.00")),
    ]  # fmt: skip


def test_the_import_books_what_the_separate_batches_book(tmp_path: Path):
    actor = system_actor("tests")
    separate = [_customer_lines(100 + 10 * k) for k in range(3)]
    for kind, ingest in (("customer", customers_ingest), ("loan", loans_ingest),
                         ("repayment", repayments_ingest)):  # fmt: skip
        items = [item for lines in separate for k, item in lines if k == kind]
        assert all(r.ok for r in ingest(actor=actor, items=items, reason=FEED_REASON))
    imported = [_customer_lines(500 + 10 * k) for k in range(3)]
    path = tmp_path / "ledger.jsonl"
    with path.open("w") as out:
        for lines in imported:
            for kind, item in lines:
                out.write(json.dumps({"type": kind, **item}) + "\n")
    run = import_file(path, chunk_size=12, progress=False)  # two chunks
    assert (run.accepted, run.refused) == (18, 0)
    numbers = [lines[0][1]["account"]["number"] for lines in separate]
    imported_numbers = [lines[0][1]["account"]["number"] for lines in imported]
    expected = _snapshot(numbers)
    assert _snapshot(imported_numbers) == expected
    # The cases the comparison covers: an overdue loan left open, installments paid late, an
    # overpayment held as credit.
    balance, _available, credit, figures, loans, repayments, credits, *_ = expected[0]
    assert credit > 0 and credits == [("overpayment", credit)]
    assert figures[0] > 0 and any(r[2] == 1 for r in repayments) and len(loans) == 2
