"""Set-based who-and-why for the outbox's bulk paths (enqueue of many recipients, a batch of
claims or deliveries): the history rows in one INSERT and one activity-trail row per history row
in one INSERT ... SELECT, in the caller's transaction (core/activity.py's bulk pattern)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import connection

from core.activity import activity_insert_from_history_sql
from core.models import ActivityEntry

from ..models import Notice

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User


def history_and_trail(
    notices: Sequence[Notice], *, actor: User, reason: str, created: bool = False
) -> None:
    """One history row per notice (its current values; a notice's own `_change_reason` wins
    over `reason`) and one trail row per history row (`notices.notice.create|update`)."""
    if not notices:
        return
    rows = Notice.history.bulk_history_create(
        list(notices), update=not created, default_user=actor, default_change_reason=reason
    )
    if connection.vendor != "postgresql":
        # SQLite (`make run`): the trail rows from Python, one INSERT (the SQL below is
        # PostgreSQL's).
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
        return
    history_ids = [row.pk for row in rows]
    sql = activity_insert_from_history_sql(
        history_table=Notice.history.model._meta.db_table,
        object_type="notices.notice",
        label_column=None,
        where="h.history_id = ANY(%s)",
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [history_ids])
