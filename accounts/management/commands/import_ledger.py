"""`manage.py import_ledger FILE [--chunk-size N] [--report PATH] [--restart]`

The lending core's nightly batch: JSON lines `{"type": "customer" | "loan" | "repayment", ...}`
(the API's items, CONTRACT.md "Lending core"), streamed in chunks (memory stays flat whatever the
file's size), each chunk booked by the same ingestion service as the API
(accounts/services/ingest.py) in one transaction together with the import's position
(`LedgerImport`: the file's identity and the byte offset after the last committed line), so an
interrupted run continues where it stopped when run again. Refused lines (malformed JSON, an
unknown type, a line cut in the middle, or an item the service refused) go to the report file
(JSON lines `{line, code, message, fields?, reference?}`, default FILE.refused.jsonl) with
their line number; the rest goes on. A progress bar goes to stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from accounts.models import LedgerImport
from accounts.services.ingest import ledger_ingest
from core.audit import system_actor

IMPORT_ACTOR = "import-ledger"
IMPORT_REASON = "nightly ledger batch from the lending core (import_ledger)"
DEFAULT_CHUNK = 5000
HEAD_BYTES = 1 << 16
MAX_LINE = 1 << 20  # a longer line is refused, not parsed


def file_identity(path: Path) -> str:
    """The file's identity: its name and the hash of its first 64 KiB (a file delivered again,
    or completed after being cut, continues; another file starts afresh)."""
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    return f"{path.name[:60]}:{hashlib.sha256(head).hexdigest()}"


def _refusal(line_no: int, code: str, message: str, **more: Any) -> dict[str, Any]:
    return {"line": line_no, "code": code, "message": str(message), **more}


def _parse(raw: bytes, line_no: int, *, at_eof: bool) -> tuple[str, Any] | dict[str, Any] | None:
    """(type, item), a refusal, or None for a blank line."""
    cut = at_eof and not raw.endswith(b"\n")
    text = raw.strip()
    if not text:
        return None
    if len(text) > MAX_LINE:
        return _refusal(line_no, "too_large", _("The line is too long."))
    try:
        value = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        if cut:
            return _refusal(line_no, "truncated", _("The file ends in the middle of this line."))
        return _refusal(line_no, "malformed", _("The line is not valid JSON."))
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        return _refusal(line_no, "malformed", _('A line is an object with its "type".'))
    kind = value.pop("type")
    return kind, value


def import_file(
    path: Path,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    report_path: Path | None = None,
    restart: bool = False,
    progress: bool = True,
    on_chunk: Callable[[LedgerImport], None] | None = None,
) -> LedgerImport:
    """Import `path` from where its last run stopped (module docstring); `on_chunk` is called
    after each committed chunk."""
    actor = system_actor(IMPORT_ACTOR)
    identity = file_identity(path)
    run, _created = LedgerImport.objects.get_or_create(
        identity=identity, defaults={"path": str(path)[:500]}
    )
    if restart:
        run.offset = run.lines = run.accepted = run.refused = 0
        run.finished_at = None
        run.started_at = timezone.now()
        run.save()
    report_path = report_path or path.with_name(path.name + ".refused.jsonl")
    size = path.stat().st_size
    bar = tqdm(total=size, initial=run.offset, unit="B", unit_scale=True, disable=not progress,
               desc=path.name[:30])  # fmt: skip
    mode = "a" if run.offset and report_path.exists() else "w"
    with path.open("rb") as fh, report_path.open(mode, encoding="utf-8") as report:
        fh.seek(run.offset)
        offset, line_no = run.offset, run.lines
        items: list[tuple[str, Any]] = []
        numbers: list[int] = []
        refused: list[dict[str, Any]] = []
        while True:
            raw = fh.readline()
            if raw:
                line_no += 1
                offset += len(raw)
                parsed = _parse(raw, line_no, at_eof=offset >= size)
                if isinstance(parsed, dict):
                    refused.append(parsed)
                elif parsed is not None:
                    items.append(parsed)
                    numbers.append(line_no)
            if (not raw and (items or refused or offset != run.offset)) or (
                len(items) + len(refused) >= chunk_size
            ):
                _commit(run, items, numbers, refused, actor=actor, offset=offset, lines=line_no)
                for row in sorted(refused, key=lambda r: r["line"]):
                    report.write(json.dumps(row, ensure_ascii=False) + "\n")
                report.flush()
                bar.update(offset - bar.n)
                items, numbers, refused = [], [], []
                if on_chunk is not None:
                    on_chunk(run)
            if not raw:
                break
    bar.close()
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    return run


@transaction.atomic
def _commit(
    run: LedgerImport,
    items: list[tuple[str, Any]],
    numbers: list[int],
    refused: list[dict[str, Any]],
    *,
    actor,
    offset: int,
    lines: int,
) -> None:
    """One chunk and the import's position, in one transaction."""
    results = ledger_ingest(actor=actor, items=items, reason=IMPORT_REASON) if items else []
    accepted = 0
    for line_no, result in zip(numbers, results, strict=True):
        if result.ok:
            accepted += 1
            continue
        error = result.body["error"]
        refused.append(
            _refusal(
                line_no,
                error["code"],
                error["message"],
                fields=error.get("fields", {}),
                reference=result.reference,
            )  # fmt: skip
        )
    run.offset, run.lines = offset, lines
    run.accepted += accepted
    run.refused += len(refused)
    run.updated_at = timezone.now()
    run.save(update_fields=["offset", "lines", "accepted", "refused", "updated_at"])


class Command(BaseCommand):
    help = "Import the lending core's ledger batch (JSON lines), resumable."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file")
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK)
        parser.add_argument("--report", help="where refused lines go (FILE.refused.jsonl)")
        parser.add_argument("--restart", action="store_true", help="start again from line 1")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file() or not os.access(path, os.R_OK):
            raise CommandError(_("Cannot read %(file)s.") % {"file": path})
        if not 1 <= options["chunk_size"] <= 100_000:
            raise CommandError(_("--chunk-size must be from 1 to 100000."))
        run = import_file(
            path,
            chunk_size=options["chunk_size"],
            report_path=Path(options["report"]) if options["report"] else None,
            restart=options["restart"],
            progress=not options["no_progress"] and options["verbosity"] > 0,
        )
        self.stdout.write(
            f"{path.name}: {run.lines} lines, {run.accepted} accepted, {run.refused} refused"
            + (f" (see {options['report'] or str(path) + '.refused.jsonl'})" if run.refused else "")
        )
