"""`manage.py import_ledger --workers N`: each chunk booked by N forked processes, partitioned
by account so that a customer's lines stay in order in one of them; the same results, report
and resumability as one process (accounts/services/ingest_workers.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.management.commands import import_ledger
from accounts.models import CreditAccount, Customer, LedgerImport, LoanRecord, Repayment
from accounts.services.ingest_workers import chunk_partition
from tests.ledger.conftest import customer_item, loan_item, national_id, repayment_item

# The workers commit on their own connections: the test's data must be committed too.
pytestmark = pytest.mark.django_db(transaction=True)


def _lines(n_customers: int, start: int = 700) -> list[dict]:
    lines = []
    for k in range(n_customers):
        c = customer_item(start + k)
        number = c["account"]["number"]
        lines.append({"type": "customer", **c})
        lines.append({"type": "loan", **loan_item(number, start + k)})
        lines.append({"type": "repayment", **repayment_item(number, start + k)})
    return lines


def _write(path: Path, records: list, tail: bytes = b"") -> Path:
    with path.open("wb") as out:
        for record in records:
            raw = record if isinstance(record, bytes) else json.dumps(record).encode()
            out.write(raw + b"\n")
        out.write(tail)
    return path


def _number_in_part(part: int, *, not_in: set[str] = frozenset(), start: int = 0) -> str:
    """An account number that chunk_partition sends to `part` of 2 when it comes first."""
    n = start
    while True:
        n += 1
        number = f"6288{n:012d}"
        if number not in not_in and chunk_partition([("loan", {"account": number})], 2) == [
            [0] if part == 0 else [],
            [0] if part == 1 else [],
        ]:
            return number


def test_partition_keeps_an_account_and_a_customer_reference_in_one_part():
    a, b = _number_in_part(0), _number_in_part(1)
    items = [
        ("customer", {"reference": "C1", "account": {"number": a}}),
        ("loan", {"account": b}),
        ("repayment", {"account": a}),
        # C1 again with a new account number: goes with C1's first line, and so does its loan.
        ("customer", {"reference": "C1", "account": {"number": "6288999999999999"}}),
        ("loan", {"account": "6288999999999999"}),
        ("loan", "not an object"),
    ]
    assert chunk_partition(items, 2) == [[0, 2, 3, 4, 5], [1]]
    assert chunk_partition(items, 1) == [[0, 1, 2, 3, 4, 5]]


def test_two_workers_book_what_one_would_and_report_the_same_refusals(tmp_path, capsys):
    records = _lines(8)
    records.insert(2, b"{not json")
    records.insert(5, {"type": "mortgage", "reference": "X"})
    records.insert(7, {"type": "loan", **loan_item("6200000000000000", 99)})
    path = _write(tmp_path / "ledger.jsonl", records, tail=b'{"type": "repayment", "refer')
    call_command("import_ledger", str(path), "--chunk-size", "7", "--workers", "2", "--no-progress")
    assert "28 lines, 24 accepted, 4 refused" in capsys.readouterr().out
    assert Customer.objects.count() == 8 and LoanRecord.objects.count() == 8
    assert Repayment.objects.count() == 8
    assert set(CreditAccount.objects.values_list("outstanding_balance", flat=True)) == {
        Decimal("200.00")
    }
    report = [json.loads(line) for line in (tmp_path / "ledger.jsonl.refused.jsonl").open()]
    assert [(r["line"], r["code"]) for r in report] == [
        (3, "malformed"), (6, "invalid"), (8, "unknown_account"), (28, "truncated"),
    ]  # fmt: skip
    run = LedgerImport.objects.get()
    assert run.offset == path.stat().st_size and run.accepted == 24 and run.refused == 4


def test_a_refusal_that_depends_on_another_part_is_booked_again_by_the_parent(tmp_path):
    first = _number_in_part(0)
    second = _number_in_part(1, start=1000)
    v1 = customer_item(801, account={**customer_item(801)["account"], "number": first})
    # The same customer, updated, with a second account: its line goes where the customer's
    # first line went, but the loan on the second account came first and went to the other
    # part, which cannot see the account yet (unknown_account): the parent books it again.
    v2 = {**v1, "updated_at": "2026-02-01T09:00:00+08:00",
          "account": {**v1["account"], "number": second}}  # fmt: skip
    records = [
        {"type": "loan", **loan_item(second, 811)},
        {"type": "customer", **v1},
        {"type": "customer", **v2},
        {"type": "loan", **loan_item(first, 812)},
    ]
    assert chunk_partition([(r["type"], r) for r in records], 2) == [[1, 2, 3], [0]]
    run = import_ledger.import_file(
        _write(tmp_path / "cross.jsonl", records), chunk_size=10, progress=False, workers=2
    )
    assert (run.accepted, run.refused) == (4, 0)
    customer = Customer.objects.get()
    assert dict(customer.accounts.values_list("number", "outstanding_balance")) == {
        first: Decimal("300.00"), second: Decimal("300.00"),
    }  # fmt: skip


def test_lines_that_could_collide_go_to_one_part_and_keep_their_order(tmp_path):
    one = customer_item(
        821, account={**customer_item(821)["account"], "number": _number_in_part(0)}
    )
    two = customer_item(822, national_id=national_id(821),
                        account={**customer_item(822)["account"], "number": _number_in_part(1)})  # fmt: skip
    assert chunk_partition([("customer", one), ("customer", two)], 2) == [[0, 1], []]
    path = _write(
        tmp_path / "dup.jsonl", [{"type": "customer", **one}, {"type": "customer", **two}]
    )
    run = import_ledger.import_file(path, chunk_size=10, progress=False, workers=2)
    assert (run.accepted, run.refused) == (1, 1)
    report = [json.loads(line) for line in (tmp_path / "dup.jsonl.refused.jsonl").open()]
    assert [(r["line"], r["code"]) for r in report] == [(2, "duplicate_customer")]
    assert list(Customer.objects.values_list("core_reference", flat=True)) == ["C-000821"]


def test_a_part_whose_transaction_failed_is_booked_again_by_the_parent(tmp_path, monkeypatch):
    from accounts.services import ingest_workers

    real_ingest = ingest_workers.ledger_ingest

    def fails_after_writing(*, actor, items, reason):
        results = real_ingest(actor=actor, items=items, reason=reason)
        if any(item.get("reference") == "C-000831" for _kind, item in items):
            raise RuntimeError("like a deadlock, after the rows were written")
        return results

    # The workers are forked after this: they inherit the failing ingest, the parent does not
    # use this name (it books through import_ledger's own).
    monkeypatch.setattr(ingest_workers, "ledger_ingest", fails_after_writing)
    path = _write(tmp_path / "fail.jsonl", _lines(4, start=830))
    run = import_ledger.import_file(path, chunk_size=12, progress=False, workers=2)
    assert (run.lines, run.accepted, run.refused) == (12, 12, 0)
    assert Customer.objects.count() == 4 and LoanRecord.objects.count() == 4
    assert LoanRecord.history.filter(history_type="+").count() == 4
    assert set(CreditAccount.objects.values_list("outstanding_balance", flat=True)) == {
        Decimal("200.00")
    }


class Interrupted(Exception):
    pass


def test_an_interruption_after_the_workers_committed_replays_the_chunk_once(tmp_path, monkeypatch):
    path = _write(tmp_path / "nightly.jsonl", _lines(6))
    real_commit = import_ledger._commit
    calls = []

    def crash_on_the_second_position(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the workers booked chunk 2; its position is not committed
            raise Interrupted
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(import_ledger, "_commit", crash_on_the_second_position)
    with pytest.raises(Interrupted):
        import_ledger.import_file(path, chunk_size=5, progress=False, workers=2)
    run = LedgerImport.objects.get()
    assert run.lines == 5 and run.finished_at is None
    assert Customer.objects.count() == 4  # lines 1-10 booked by the workers
    monkeypatch.setattr(import_ledger, "_commit", real_commit)
    run = import_ledger.import_file(path, chunk_size=5, progress=False, workers=2)
    assert (run.lines, run.accepted, run.refused) == (18, 18, 0)
    assert Customer.objects.count() == 6 and LoanRecord.objects.count() == 6
    assert Repayment.objects.count() == 6
    # Chunk 2 was replayed: its booked items answered from their rows, nothing written twice.
    assert LoanRecord.history.filter(history_type="+").count() == 6
    assert Repayment.history.filter(history_type="+").count() == 6
    assert set(CreditAccount.objects.values_list("outstanding_balance", flat=True)) == {
        Decimal("200.00")
    }


def test_workers_must_be_from_1_to_16(tmp_path):
    from django.core.management.base import CommandError

    path = _write(tmp_path / "x.jsonl", [])
    with pytest.raises(CommandError, match="--workers"):
        call_command("import_ledger", str(path), "--workers", "0", "--no-progress")
