"""Insert many new rows together with their history rows, fast (used by the demo seeder and the
seeding benchmark).

On PostgreSQL the rows and their historical twins go in with COPY: ids are drawn from the
table's sequence first, so children can point at their parents before anything is sent, and
each encrypted value is encrypted once and the same token stored in the base and the historical
row. On other databases (SQLite under `make run`) it falls back to simple-history's
`bulk_create_with_history`. Either way every inserted row gets exactly one historical row of
type "+" with the acting user, the reason and the time given.
"""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter
from typing import Any

from django.db import connection, models
from simple_history.utils import bulk_create_with_history

from core import crypto
from core.activity import activity_insert_sql
from core.models import ActivityEntry


def rows_insert_with_history(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    actor: models.Model,
    reason: str,
    when: datetime,
) -> int:
    """Insert `rows` (attname -> Python value; plaintext for encrypted fields; keys that are not
    fields are ignored), set each row's "id", and return the number of rows written (base and
    history). Must run inside a transaction."""
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        _copy_with_history(model, rows, actor=actor, reason=reason, when=when)
    else:
        _orm_with_history(model, rows, actor=actor, reason=reason, when=when)
    _trail(model, [row["id"] for row in rows], actor=actor, reason=reason, when=when)
    return 2 * len(rows)


def _trail(
    model: type[models.Model], ids: list[int], *, actor: Any, reason: str, when: datetime
) -> None:
    """The activity-trail rows of the inserted rows, set-based (core.activity)."""
    sql = activity_insert_sql(
        source="(SELECT unnest(%(ids)s::bigint[]) AS id)",
        object_type=model._meta.label_lower,
        actor="%(actor)s",
        actor_name="%(actor_name)s",
        at="%(at)s",
        reason="%(reason)s",
    )
    if connection.vendor != "postgresql":
        ActivityEntry.objects.bulk_create(
            ActivityEntry(
                at=when,
                actor_id=actor.pk,
                actor_username=actor.username,
                action=f"{model._meta.label_lower}.create",
                object_type=model._meta.label_lower,
                object_id=str(pk),
                object_label=f"{model._meta.model_name} {pk}",
                reason=reason,
                xact=0,
            )
            for pk in ids
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "ids": ids,
                "actor": actor.pk,
                "actor_name": actor.username,
                "at": when,
                "reason": reason,
            },
        )


def _orm_with_history(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    actor: models.Model,
    reason: str,
    when: datetime,
) -> None:
    names = {f.attname for f in model._meta.concrete_fields}
    objs = [model(**{k: v for k, v in row.items() if k in names}) for row in rows]
    bulk_create_with_history(
        objs, model, default_user=actor, default_change_reason=reason, default_date=when
    )
    for row, obj in zip(rows, objs, strict=True):
        row["id"] = obj.pk


def _history_tuple(names: list[str], history_fields: list, specials: list[str]) -> itemgetter:
    """A history row is the base row's values reordered plus the four history columns:
    itemgetter() builds the tuple in C, which matters at 10^5-10^6 rows."""
    return itemgetter(
        *[
            len(names) + specials.index(f.attname)
            if f.attname in specials
            else names.index(f.attname)
            for f in history_fields
        ]
    )


def _copy(cursor: Any, table: str, columns: list[str], tuples: list[tuple]) -> None:
    qn = connection.ops.quote_name
    sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        for t in tuples:
            copy.write_row(t)


def _copy_with_history(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    actor: models.Model,
    reason: str,
    when: datetime,
) -> None:
    meta = model._meta
    fields = list(meta.concrete_fields)
    names = [f.attname for f in fields]
    encrypted = [f.attname for f in fields if isinstance(f, crypto.EncryptedTextField)]
    history_model = model.history.model  # type: ignore[attr-defined]
    history_fields = [f for f in history_model._meta.concrete_fields if f.attname != "history_id"]
    specials = {
        "history_date": when,
        "history_change_reason": reason,
        "history_type": "+",
        "history_user_id": actor.pk,
    }
    # Columns the rows leave out get the field's default: the declared one (called per row when
    # it is callable), else "" for text columns, else None.
    missing = [f for f in fields if f.attname not in rows[0] and f.attname != "id"]
    constant = {f.attname: f.get_default() for f in missing if not callable(f.default)}
    per_row = [f for f in missing if callable(f.default)]
    base_tuple = itemgetter(*names)
    history_tuple = _history_tuple(names, history_fields, list(specials))
    special_values = tuple(specials.values())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(rows)],
        )
        ids = [r[0] for r in cursor.fetchall()]
        base_tuples = []
        history_tuples = []
        for row, new_id in zip(rows, ids, strict=True):
            row["id"] = new_id
            values = {**row, **constant}
            for f in per_row:
                values[f.attname] = f.get_default()
            for name in encrypted:
                if values[name]:
                    values[name] = crypto.encrypt(str(values[name]))
            base = base_tuple(values)
            base_tuples.append(base)
            history_tuples.append(history_tuple(base + special_values))
        _copy(cursor, meta.db_table, [f.column for f in fields], base_tuples)
        _copy(
            cursor,
            history_model._meta.db_table,
            [f.column for f in history_fields],
            history_tuples,
        )
