"""The seal chain over the activity trail (tamper evidence beyond the database triggers).

The trail is read in (xact, id) order: `xact` is the id of the transaction that wrote the row.
On PostgreSQL a seal covers only rows of transactions older than the oldest one still running
in this database (pg_stat_activity's backend_xid, widened to 64 bits): such rows are final, and
no row can ever again be written before them, whatever order the sequence handed out ids in. (On SQLite, used by
`make run` only, there is one writer at a time; rows older than a minute are sealed.)

Each seal hashes, with SHA-256, the previous seal's hash, its own range and every row's digest
in order; it also keeps (id, 16-byte digest prefix) per row, so `verify_audit` names the first
row that was altered, removed or inserted, or the seal that was. Sealing only reads the trail
and inserts seals: it never locks a trail row, so writers never wait for it; one sealer runs at a
time (an advisory lock on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from .models import ActivityEntry, AuditSeal

GENESIS = "0" * 64
SEAL_BATCH = 5000
SQLITE_LAG = timedelta(minutes=1)
_ADVISORY_LOCK = 727_001  # any constant of our own
_DIGEST_BYTES = 16
_ROW = struct.Struct(">q16s")

_FIELDS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "changes",
    "reason",
    "ip_address",
    "request_id",
    "xact",
)


def row_digest(row: dict) -> bytes:
    canonical = {name: (row[name].isoformat() if name == "at" else row[name]) for name in _FIELDS}
    payload = json.dumps(canonical, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).digest()


def seal_hash(*, previous: str, last_xact: int, last_id: int, digests: list[bytes]) -> str:
    h = hashlib.sha256()
    h.update(previous.encode("ascii"))
    h.update(struct.pack(">qqq", last_xact, last_id, len(digests)))
    for digest in digests:
        h.update(digest)
    return h.hexdigest()


def _position(seal: AuditSeal | None) -> tuple[int, int]:
    return (seal.last_xact, seal.last_entry_id) if seal else (-1, -1)


def _after(position: tuple[int, int]) -> Q:
    xact, entry_id = position
    return Q(xact__gt=xact) | Q(xact=xact, id__gt=entry_id)


def _rows_after(position: tuple[int, int]):
    return ActivityEntry.objects.filter(_after(position)).order_by("xact", "id").values(*_FIELDS)


# The oldest transaction id still running in THIS database (other databases of the cluster never
# write our tables, so their long transactions must not hold the seals back), else the next id
# to be handed out. pg_stat_activity shows 32-bit xids: they are widened to 64 bits against the
# snapshot's xmax (the ids in use are never 2^31 apart).
_HORIZON_SQL = """
WITH now_xid AS (SELECT txid_snapshot_xmax(txid_current_snapshot()) AS cur)
SELECT LEAST(
    (SELECT cur FROM now_xid),
    (SELECT min(cur - (((cur % 4294967296) - backend_xid::text::bigint + 4294967296)
                       % 4294967296))
       FROM pg_stat_activity, now_xid
      WHERE datname = current_database() AND backend_xid IS NOT NULL
        AND pid <> pg_backend_pid())
)
"""


def _horizon() -> Q:
    """Rows final enough to seal: written by transactions that have all finished."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_HORIZON_SQL)
            horizon = cursor.fetchone()[0]
        return Q(xact__lt=horizon)
    return Q(at__lt=timezone.now() - SQLITE_LAG)


def _lock() -> bool:
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
        return bool(cursor.fetchone()[0])


def audit_seal(*, batch: int = SEAL_BATCH, max_seals: int = 200) -> int:
    """Seal what can be sealed, `batch` rows a seal. Returns the number of rows sealed."""
    sealed = 0
    for _ in range(max_seals):
        count = _seal_one(batch=batch)
        if not count:
            break
        sealed += count
    return sealed


@transaction.atomic
def _seal_one(*, batch: int) -> int:
    if not _lock():
        return 0  # another sealer is at work
    last = AuditSeal.objects.order_by("-pk").first()
    rows = list(_rows_after(_position(last)).filter(_horizon())[:batch])
    if not rows:
        return 0
    digests = [row_digest(row) for row in rows]
    previous = last.hash if last else GENESIS
    tail = rows[-1]
    AuditSeal.objects.create(
        last_xact=tail["xact"],
        last_entry_id=tail["id"],
        row_count=len(rows),
        row_digests=b"".join(
            _ROW.pack(r["id"], d[:_DIGEST_BYTES]) for r, d in zip(rows, digests, strict=True)
        ),
        previous_hash=previous,
        hash=seal_hash(
            previous=previous, last_xact=tail["xact"], last_id=tail["id"], digests=digests
        ),
    )
    return len(rows)


@dataclass(frozen=True)
class Break:
    seal_id: int
    what: str  # "altered" | "removed" | "inserted" | "seal altered" | "seal removed"
    entry_id: int | None

    def __str__(self) -> str:
        where = f"row {self.entry_id}" if self.entry_id is not None else "the seal itself"
        return f"seal {self.seal_id}: {self.what} ({where})"


def _stored_rows(seal: AuditSeal) -> list[tuple[int, bytes]]:
    raw = bytes(seal.row_digests)
    return [_ROW.unpack_from(raw, offset) for offset in range(0, len(raw), _ROW.size)]


def _compare(seal: AuditSeal, rows: list[dict]) -> Break | None:
    stored = _stored_rows(seal)
    actual = [(row["id"], row_digest(row)[:_DIGEST_BYTES]) for row in rows]
    stored_ids = {entry_id for entry_id, _ in stored}
    actual_ids = {entry_id for entry_id, _ in actual}
    for (s_id, s_digest), (a_id, a_digest) in zip(stored, actual, strict=False):
        if s_id == a_id and s_digest != a_digest:
            return Break(seal.pk, "altered", s_id)
        if s_id != a_id:
            if s_id not in actual_ids:
                return Break(seal.pk, "removed", s_id)
            return Break(seal.pk, "inserted", a_id)
    if len(stored) > len(actual):
        return Break(seal.pk, "removed", stored[len(actual)][0])
    if len(actual) > len(stored):
        extra = [a_id for a_id, _ in actual if a_id not in stored_ids]
        return Break(seal.pk, "inserted", extra[0] if extra else actual[len(stored)][0])
    return None


def _seals() -> Iterator[AuditSeal]:
    yield from AuditSeal.objects.order_by("pk").iterator(chunk_size=200)


def audit_verify() -> Break | None:
    """Re-compute the chain; the first break found, or None when everything holds."""
    previous = GENESIS
    position = (-1, -1)
    for seal in _seals():
        if seal.previous_hash != previous:
            # The seal before it was removed or altered, or this one was.
            return Break(seal.pk, "chain broken before this seal", None)
        rows = list(
            _rows_after(position).filter(
                Q(xact__lt=seal.last_xact) | Q(xact=seal.last_xact, id__lte=seal.last_entry_id)
            )
        )
        broken = _compare(seal, rows)
        if broken is not None:
            return broken
        digests = [row_digest(row) for row in rows]
        recomputed = seal_hash(
            previous=previous,
            last_xact=seal.last_xact,
            last_id=seal.last_entry_id,
            digests=digests,
        )
        if recomputed != seal.hash or seal.row_count != len(rows):
            return Break(seal.pk, "seal altered", None)
        previous = seal.hash
        position = (seal.last_xact, seal.last_entry_id)
    return None
