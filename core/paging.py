"""Keyset ("newer/older") paging over (created_at, id), newest first: no COUNT(*), and the same
cost on page 1 and page 1000 (served by an index on (..., -created_at, -id))."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def cursor_encode(created_at: datetime, pk: int) -> str:
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{pk}"


def cursor_decode(value: str | None) -> tuple[datetime, int] | None:
    """The (created_at, id) of a cursor, or None for a missing or malformed one."""
    if not value or len(value) > 40:
        return None
    try:
        micros_text, pk_text = value.split(".", 1)
        micros, pk = int(micros_text), int(pk_text)
        return _EPOCH + timedelta(microseconds=micros), pk
    except (ValueError, OverflowError):
        return None


@dataclass
class KeysetPage:
    rows: list[Any]
    newer: str | None  # cursor for the page of newer rows, or None on the first page
    older: str | None  # cursor for the page of older rows, or None on the last page


def keyset_page(
    queryset: QuerySet, *, older: str | None, newer: str | None, size: int = 20
) -> KeysetPage:
    """One page of `queryset` (any filter; ordered here by -created_at, -id)."""
    after_newer = cursor_decode(newer)
    before_older = cursor_decode(older)
    if after_newer is not None:
        at, pk = after_newer
        rows = list(
            queryset.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk)).order_by(
                "created_at", "pk"
            )[: size + 1]
        )
        if not rows:  # nothing newer any more: show the newest page
            return keyset_page(queryset, older=None, newer=None, size=size)
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        has_newer, has_older = more_newer, True
    else:
        qs = queryset
        if before_older is not None:
            at, pk = before_older
            qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
        rows = list(qs.order_by("-created_at", "-pk")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before_older is not None
    if not rows:
        return KeysetPage(rows=[], newer=None, older=None)
    return KeysetPage(
        rows=rows,
        newer=cursor_encode(rows[0].created_at, rows[0].pk) if has_newer else None,
        older=cursor_encode(rows[-1].created_at, rows[-1].pk) if has_older else None,
    )
