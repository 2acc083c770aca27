"""Parallel chunks of the ledger import (`manage.py import_ledger --workers N`).

A chunk's items are cut into N parts by account (`chunk_partition`: every line naming an
account number, or a customer reference already seen in the chunk, goes to the part that
first took it, so a customer's lines stay in their order in one part), and each part is booked
by a forked worker process through the same service (`ledger_ingest`), in its own transaction
on its own connection. The import's position is committed by the parent only after every part
has committed, so an interruption between the two replays the chunk, and the parts already
committed answer from their stored rows (idempotent by the core's reference: nothing is booked
twice).

What a part cannot see is another part's uncommitted rows: an item refused for a reason that
may lie in another part (`RETRY_CODES`), and a whole part whose transaction failed (a unique
key taken by another part, a deadlock), are booked again by the parent, serially, after the
parts have committed, in the chunk's transaction that also moves the position.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import zlib
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from django.db import connection, connections, transaction

from core import crypto

from ..models import User
from .ingest import ItemResult, ledger_ingest

__all__ = ["RETRY_CODES", "IngestPool", "chunk_partition"]

# Refusals that may depend on rows another part is writing in the same chunk.
RETRY_CODES = frozenset({
    "unknown_account", "authorization_mismatch", "unknown_loan", "loan_not_on_account",
    "duplicate_customer", "account_conflict", "username_taken",
})  # fmt: skip


def _keys(kind: str, item: Any) -> list[str]:
    """What a line names that another line of the chunk may name too: its customer reference
    and national ID, its account number (a malformed line names none: it is refused whichever
    part books it). The last one is the account number."""
    if not isinstance(item, dict):
        return []
    keys = []
    if kind == "customer":
        if isinstance(item.get("reference"), str):
            keys.append("c:" + item["reference"].strip())
        if isinstance(item.get("national_id"), str):
            keys.append("n:" + crypto.normalize(item["national_id"].strip()))
        account = item.get("account")
        if isinstance(account, dict) and isinstance(account.get("number"), str):
            keys.append("a:" + account["number"].strip())
    elif isinstance(item.get("account"), str):
        keys.append("a:" + item["account"].strip())
    return keys


def chunk_partition(items: Sequence[tuple[str, Any]], parts: int) -> list[list[int]]:
    """The indices of `items` in `parts` lists, each in the chunk's order: a line goes where a
    key it names already went in this chunk (the first such key), else by the hash of its
    account number. Two lines that could collide on a unique key (the same customer, national
    ID or account) so land in one part, which books them in their order; a line naming keys of
    two parts is the rare case left to `RETRY_CODES` and the parent's second pass."""
    taken: dict[str, int] = {}
    out: list[list[int]] = [[] for _ in range(parts)]
    for index, (kind, item) in enumerate(items):
        keys = _keys(kind, item)
        part = next((taken[k] for k in keys if k in taken), None)
        if part is None:
            part = zlib.crc32(keys[-1].encode("utf-8", "replace")) % parts if keys else 0
        for key in keys:
            taken.setdefault(key, part)
        out[part].append(index)
    return out


def _worker(pipe: Connection, actor_id: int, reason: str) -> None:
    """A worker process: book each part it receives in one transaction; answer its results,
    or None when the transaction failed (the parent books that part again)."""
    actor = User.objects.get(pk=actor_id)
    while True:
        items = pipe.recv()
        if items is None:
            break
        try:
            with transaction.atomic():
                results = ledger_ingest(actor=actor, items=items, reason=reason)
        except Exception:  # noqa: BLE001 - rolled back: the parent books the part again
            pipe.send(None)
            continue
        # As plain tuples: a dataclass instance pickles and unpickles ~15x slower (~8 µs an item).
        pipe.send([(r.status, r.body, r.reference) for r in results])
    connections.close_all()


class IngestPool:
    """N forked workers, each with its own database connection."""

    def __init__(self, workers: int, *, actor: User, reason: str) -> None:
        if connection.in_atomic_block:
            raise RuntimeError("parallel import inside a transaction")
        connections.close_all()  # forked children must not share the parent's socket
        context = multiprocessing.get_context("fork")
        self.pipes: list[Connection] = []
        self.processes = []
        for _n in range(workers):
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, actor.pk, reason), daemon=True)
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)

    def submit(self, items: Sequence[tuple[str, Any]]) -> list[list[int]]:
        """Send the chunk's parts to the workers; returns the parts (indices) to collect."""
        parts = chunk_partition(items, len(self.pipes))
        for pipe, indices in zip(self.pipes, parts, strict=True):
            if indices:
                pipe.send([items[i] for i in indices])
        return parts

    def collect(self, parts: list[list[int]], size: int) -> list[ItemResult | None]:
        """The results of the submitted chunk by index; None where the parent must book the
        item itself (its part failed, or a refusal in `RETRY_CODES`)."""
        results: list[ItemResult | None] = [None] * size
        for pipe, indices in zip(self.pipes, parts, strict=True):
            if not indices:
                continue
            answer = pipe.recv()
            if answer is None:
                continue
            for i, (status, body, reference) in zip(indices, answer, strict=True):
                result = ItemResult(status, body, reference)
                if result.ok or body["error"]["code"] not in RETRY_CODES:
                    results[i] = result
        return results

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):  # a worker that died already
                pipe.send(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
        for pipe in self.pipes:
            pipe.close()
