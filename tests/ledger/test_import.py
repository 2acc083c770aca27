"""`manage.py import_ledger`: streamed in chunks through the ingestion service, refused lines
reported with their number and reason, resumable after an interruption."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.management.commands.import_ledger import import_file
from accounts.models import CreditAccount, Customer, LedgerImport, LoanRecord, Repayment
from tests.ledger.conftest import customer_item, loan_item, repayment_item

pytestmark = pytest.mark.django_db


def _lines(n_customers: int, start: int = 500) -> list[dict]:
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


def test_import_books_the_lines_and_reports_the_refused(tmp_path, capsys):
    records = _lines(4)
    records.insert(2, b"{not json")
    records.insert(5, {"type": "mortgage", "reference": "X"})
    records.insert(7, {"type": "loan", **loan_item("6200000000000000", 99)})
    path = _write(tmp_path / "ledger.jsonl", records, tail=b'{"type": "repayment", "refer')
    call_command("import_ledger", str(path), "--chunk-size", "4", "--no-progress")
    out = capsys.readouterr().out
    assert "16 lines, 12 accepted, 4 refused" in out
    assert Customer.objects.count() == 4 and LoanRecord.objects.count() == 4
    assert Repayment.objects.count() == 4
    assert set(CreditAccount.objects.values_list("outstanding_balance", flat=True)) == {
        Decimal("200.00")
    }
    report = [json.loads(line) for line in (tmp_path / "ledger.jsonl.refused.jsonl").open()]
    assert [(r["line"], r["code"]) for r in report] == [
        (3, "malformed"), (6, "invalid"), (8, "unknown_account"), (16, "truncated"),
    ]  # fmt: skip
    assert report[2]["reference"] == "L-00000099"
    run = LedgerImport.objects.get()
    assert run.offset == path.stat().st_size and run.finished_at is not None
    # Run again: nothing left to do, nothing booked twice.
    call_command("import_ledger", str(path), "--no-progress")
    assert LoanRecord.objects.count() == 4 and LedgerImport.objects.get().lines == 16


class Interrupted(Exception):
    pass


def test_import_resumes_after_an_interruption(tmp_path):
    path = _write(tmp_path / "nightly.jsonl", _lines(6))
    chunks = []

    def crash_after_two(run):
        chunks.append(run.lines)
        if len(chunks) == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        import_file(path, chunk_size=5, progress=False, on_chunk=crash_after_two)
    run = LedgerImport.objects.get()
    assert run.lines == 10 and run.finished_at is None
    assert Customer.objects.count() == 4  # lines 1-10: four customers
    assert LoanRecord.history.filter(history_type="+").count() == 3
    run = import_file(path, chunk_size=5, progress=False)
    assert run.lines == 18 and run.accepted == 18 and run.refused == 0
    assert Customer.objects.count() == 6 and LoanRecord.objects.count() == 6
    assert Repayment.objects.count() == 6
    # The committed chunks were not read again: only the new loans got history rows.
    assert LoanRecord.history.filter(history_type="+").count() == 6
    assert set(CreditAccount.objects.values_list("outstanding_balance", flat=True)) == {
        Decimal("200.00")
    }


def test_a_chunk_books_customers_then_loans_then_repayments(tmp_path):
    c = customer_item(900)
    number = c["account"]["number"]
    records = [
        {"type": "repayment", **repayment_item(number, 900)},
        {"type": "loan", **loan_item(number, 900)},
        {"type": "customer", **c},
    ]
    run = import_file(_write(tmp_path / "any-order.jsonl", records), progress=False)
    assert run.accepted == 3
    account = CreditAccount.objects.get(number=number)
    assert account.outstanding_balance == Decimal("200.00") and account.credit_balance == 0
