"""`manage.py import_ledger FILE [--chunk-size N] [--report PATH] [--restart] [--workers N]`

The lending core's nightly batch: JSON lines `{"type": "customer" | "loan" | "repayment", ...}`
(the API's items, CONTRACT.md "Lending core"), streamed in chunks (memory stays flat whatever the
file's size), each chunk booked by the same ingestion service as the API
(accounts/services/ingest.py) in one transaction together with the import's position
(`LedgerImport`: the file's identity and the byte offset after the last committed line), so an
interrupted run continues where it stopped when run again. Refused lines (malformed JSON, an
unknown type, a line cut in the middle, or an item the service refused) go to the report file
(JSON lines `{line, code, message, fields?, reference?}`, default FILE.refused.jsonl) with
their line number; the rest goes on. A progress bar goes to stderr. `--workers N` (PostgreSQL)
books each chunk in N processes, partitioned by account, resumable the same way
(accounts/services/ingest_workers.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from accounts.models import LedgerImport
from accounts.services.ingest import ItemResult, ledger_ingest
from accounts.services.ingest_workers import IngestPool
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


@dataclass
class _Chunk:
    items: list[tuple[str, Any]]
    numbers: list[int]  # the line number of each item
    refused: list[dict[str, Any]]
    offset: int  # after the chunk's last line
    lines: int


def _chunks(fh: BinaryIO, *, offset: int, lines: int, size: int, chunk_size: int
            ) -> Iterator[_Chunk]:  # fmt: skip
    """The file from `offset` in chunks of `chunk_size` lines (blank lines not counted), the
    last one at the end of the file even if empty (the position moves past trailing blanks)."""
    fh.seek(offset)
    committed = offset
    items: list[tuple[str, Any]] = []
    numbers: list[int] = []
    refused: list[dict[str, Any]] = []
    while True:
        raw = fh.readline()
        if raw:
            lines += 1
            offset += len(raw)
            parsed = _parse(raw, lines, at_eof=offset >= size)
            if isinstance(parsed, dict):
                refused.append(parsed)
            elif parsed is not None:
                items.append(parsed)
                numbers.append(lines)
        if (not raw and (items or refused or offset != committed)) or (
            len(items) + len(refused) >= chunk_size
        ):
            yield _Chunk(items, numbers, refused, offset, lines)
            committed = offset
            items, numbers, refused = [], [], []
        if not raw:
            return


def import_file(
    path: Path,
    *,
    chunk_size: int = DEFAULT_CHUNK,
    report_path: Path | None = None,
    restart: bool = False,
    progress: bool = True,
    on_chunk: Callable[[LedgerImport], None] | None = None,
    workers: int = 1,
) -> LedgerImport:
    """Import `path` from where its last run stopped (module docstring); `on_chunk` is called
    after each committed chunk. With `workers` > 1 each chunk is booked by that many forked
    processes (accounts/services/ingest_workers.py) while this one reads the next chunk."""
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
    pool = IngestPool(workers, actor=actor, reason=IMPORT_REASON) if workers > 1 else None
    try:
        with path.open("rb") as fh, report_path.open(mode, encoding="utf-8") as report:
            chunks = _chunks(fh, offset=run.offset, lines=run.lines, size=size,
                             chunk_size=chunk_size)  # fmt: skip
            chunk = next(chunks, None)
            while chunk is not None:
                parts = pool.submit(chunk.items) if pool and chunk.items else None
                following = next(chunks, None)  # read while the workers book
                done = pool.collect(parts, len(chunk.items)) if pool and parts else None
                _commit(run, chunk, done, actor=actor)
                for row in sorted(chunk.refused, key=lambda r: r["line"]):
                    report.write(json.dumps(row, ensure_ascii=False) + "\n")
                report.flush()
                bar.update(chunk.offset - bar.n)
                if on_chunk is not None:
                    on_chunk(run)
                chunk = following
    finally:
        if pool is not None:
            pool.close()
    bar.close()
    run.finished_at = timezone.now()
    run.save(update_fields=["finished_at"])
    return run


@transaction.atomic
def _commit(
    run: LedgerImport, chunk: _Chunk, done: list[ItemResult | None] | None, *, actor
) -> None:
    """One chunk and the import's position, in one transaction. `done`: the results the
    workers committed already (None where this transaction must book the item)."""
    if done is None:
        results = ledger_ingest(actor=actor, items=chunk.items, reason=IMPORT_REASON)
    else:
        again = [i for i, result in enumerate(done) if result is None]
        results = list(done)
        if again:
            booked = ledger_ingest(
                actor=actor, items=[chunk.items[i] for i in again], reason=IMPORT_REASON
            )
            for i, result in zip(again, booked, strict=True):
                results[i] = result
    accepted = 0
    refused = chunk.refused
    for line_no, result in zip(chunk.numbers, results, strict=True):
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
    run.offset, run.lines = chunk.offset, chunk.lines
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
        parser.add_argument(
            "--workers", type=int, default=1,
            help="processes booking each chunk in parallel, by account (PostgreSQL)",
        )  # fmt: skip

    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file() or not os.access(path, os.R_OK):
            raise CommandError(_("Cannot read %(file)s.") % {"file": path})
        if not 1 <= options["chunk_size"] <= 100_000:
            raise CommandError(_("--chunk-size must be from 1 to 100000."))
        if not 1 <= options["workers"] <= 16:
            raise CommandError(_("--workers must be from 1 to 16."))
        if options["workers"] > 1 and connection.vendor != "postgresql":
            raise CommandError(_("--workers needs PostgreSQL."))
        run = import_file(
            path,
            chunk_size=options["chunk_size"],
            report_path=Path(options["report"]) if options["report"] else None,
            restart=options["restart"],
            progress=not options["no_progress"] and options["verbosity"] > 0,
            workers=options["workers"],
        )
        self.stdout.write(
            f"{path.name}: {run.lines} lines, {run.accepted} accepted, {run.refused} refused"
            + (f" (see {options['report'] or str(path) + '.refused.jsonl'})" if run.refused else "")
        )
