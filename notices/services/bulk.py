"""Set-based who-and-why for the outbox's bulk paths (enqueue of many recipients, a batch of
claims or deliveries): the history rows and one activity-trail row per history row, in the
caller's transaction (core/activity.py's bulk pattern). On PostgreSQL both are one statement
(INSERT ... SELECT from the notice rows as they now are, the trail rows from its RETURNING),
so a batch costs no Python per row; SQLite (`make run`) takes the ORM's path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone

from core.activity import activity_insert_from_history_sql
from core.models import ActivityEntry

from ..models import Notice

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User


def _history_columns() -> list[str]:
    """The notice's columns that its history table copies (all but the history's own)."""
    history = Notice.history.model
    return [f.column for f in history._meta.concrete_fields if not f.column.startswith("history_")]


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
    columns = _history_columns()
    trail = activity_insert_from_history_sql(
        history_table="inserted",
        object_type="notices.notice",
        label_column=None,
        where="TRUE",
    )
    sql = f"""
        WITH inserted AS (
            INSERT INTO {Notice.history.model._meta.db_table}
                ({", ".join(columns)}, history_date, history_change_reason, history_type,
                 history_user_id)
            SELECT {", ".join(f"n.{c}" for c in columns)}, %s, v.reason, %s, %s
            FROM {Notice._meta.db_table} n
            JOIN unnest(%s::bigint[], %s::text[]) AS v(id, reason) ON v.id = n.id
            RETURNING id, history_date, history_change_reason, history_type, history_user_id
        )
        {trail}
    """  # noqa: S608 - table and column names come from model _meta, never from input
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
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
