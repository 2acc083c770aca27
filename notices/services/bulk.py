"""Set-based who-and-why for the outbox's bulk paths (enqueue of many recipients, a batch of
claims or deliveries): the history rows and one activity-trail row per history row, in the
caller's transaction (core/activity.py's bulk pattern). On PostgreSQL both are one statement
(INSERT ... SELECT from the notice rows as they now are, the trail rows from its RETURNING),
so a batch costs no Python per row; SQLite (`make run`) takes the ORM's path."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from core.activity import activity_insert_from_history_sql
from core.models import ActivityEntry

from ..models import Notice

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User


@functools.cache
def _history_sql() -> str:
    """The one statement of `history_and_trail` (built once: reading `Notice.history` builds a
    manager class each time, a tenth of a send batch's CPU)."""
    history = Notice.history.model
    # The notice's columns that its history table copies (all but the history's own).
    columns = [
        f.column for f in history._meta.concrete_fields if not f.column.startswith("history_")
    ]
    trail = activity_insert_from_history_sql(
        history_table="inserted",
        object_type="notices.notice",
        label_column=None,
        where="TRUE",
    )
    return f"""
        WITH inserted AS (
            INSERT INTO {history._meta.db_table}
                ({", ".join(columns)}, history_date, history_change_reason, history_type,
                 history_user_id)
            SELECT {", ".join(f"n.{c}" for c in columns)}, %s, v.reason, %s, %s
            FROM {Notice._meta.db_table} n
            JOIN unnest(%s::bigint[], %s::text[]) AS v(id, reason) ON v.id = n.id
            RETURNING id, history_date, history_change_reason, history_type, history_user_id
        )
        {trail}
    """  # noqa: S608 - table and column names come from model _meta, never from input


def notices_insert(notices: Sequence[Notice]) -> None:
    """INSERT the unsaved `notices` (ids set on them). PostgreSQL: their ids drawn from the
    sequence in one query and the rows written by COPY (Django's bulk_create spends most of an
    enqueue preparing each field of each row); SQLite: bulk_create. A duplicate idempotency key
    raises IntegrityError either way."""
    if connection.vendor != "postgresql":
        Notice.objects.bulk_create(notices)
        return
    table = Notice._meta.db_table
    fields = Notice._meta.concrete_fields
    for notice in notices:
        for field in fields:  # what bulk_create's pre_save does (defaults are set at __init__)
            if field.attname != "id":
                setattr(notice, field.attname, field.pre_save(notice, add=True))
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(notices)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = ", ".join(field.column for field in fields)
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for notice, pk in zip(notices, ids, strict=True):
                notice.pk = pk
                copy.write_row([getattr(notice, field.attname) for field in fields])
    for notice in notices:
        notice._state.adding = False  # noqa: SLF001 - what bulk_create leaves on saved rows
        notice._state.db = connection.alias  # noqa: SLF001


def history_and_trail(
    notices: Sequence[Notice], *, actor: User, reason: str, created: bool = False
) -> None:
    """One history row per notice (its values as they are in the database now; a notice's own
    `_change_reason` wins over `reason`) and one trail row per history row
    (`notices.notice.create|update`)."""
    if not notices:
        return
    if connection.vendor != "postgresql":
        _history_and_trail_orm(notices, actor=actor, reason=reason, created=created)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _history_sql(),
            [
                timezone.now(),
                "+" if created else "~",
                getattr(actor, "pk", None),
                [n.pk for n in notices],
                [getattr(n, "_change_reason", None) or reason for n in notices],
            ],
        )


def _history_and_trail_orm(
    notices: Sequence[Notice], *, actor: User, reason: str, created: bool
) -> None:
    rows = Notice.history.bulk_history_create(
        list(notices), update=not created, default_user=actor, default_change_reason=reason
    )
    ActivityEntry.objects.bulk_create(
        ActivityEntry(
            at=row.history_date,
            actor_id=row.history_user_id,
            actor_username=str(getattr(actor, "username", "") or "")[:150],
            action=f"notices.notice.{'create' if row.history_type == '+' else 'update'}",
            object_type="notices.notice",
            object_id=str(row.id),
            object_label="",
            changes={},
            reason=row.history_change_reason or "",
            xact=0,
        )
        for row in rows
    )
