"""The ledger feed's bulk writers (accounts/services/ingest.py): new rows, and updates of rows
already held, each with its history row and its activity-trail row, set-based.

They write exactly what `accounts.bulk_insert.rows_insert_with_history` and
`schedules.rows_update` write (the same rows, history rows of type "+" / "~" with the acting
user, reason and time, trail rows `<model>.create` / `<model>.update`), in fewer and cheaper
statements, because the import books 10^5-10^6 rows a run (README "Lending core"):

- the ids of new rows come from the table's sequence named once per table (not
  `pg_get_serial_sequence()` evaluated for every row, ~7x the backend's time for the ids);
- what depends only on the model and the columns given (fields, SQL, tuple builders) is
  computed once per process, not per batch;
- an update sends each column as one array (`UPDATE ... FROM unnest(...)`), its values as
  they are (Decimal, date, str: what the backend's adapters would return unchanged), only the
  encrypted columns through their field's `get_db_prep_save` (which encrypts).

On other databases (SQLite under `make run`) they fall back to the generic writers.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from operator import attrgetter, itemgetter
from typing import Any

from django.db import connection, models

from core import crypto
from core.activity import activity_insert_sql

from .. import schedules
from ..bulk_insert import rows_insert_with_history

__all__ = ["array_param", "rows_copy_insert", "rows_copy_update"]

_SPECIALS = ("history_date", "history_change_reason", "history_type", "history_user_id")


@cache
def _trail_sql(label: str, action: str) -> str:
    sql = activity_insert_sql(
        source="(SELECT unnest(%(ids)s::bigint[]) AS id)",
        object_type=label,
        actor="%(actor)s",
        actor_name="%(actor_name)s",
        at="%(at)s",
        reason="%(reason)s",
    )
    return sql.replace(f"'{label}.create'", f"'{label}.{action}'")


def array_param(values: list[Any]) -> str | list[Any]:
    """An array parameter as PostgreSQL's array text (`{1,2,NULL}`) when its values are whole
    numbers, decimals, dates or None, which need no quoting (Django's client-side binding would
    quote each element in Python: ~3 µs each, 10^5 a chunk); other lists as they are."""
    parts = []
    for value in values:
        if value is None:
            parts.append("NULL")
        elif type(value) is int or type(value) is Decimal:
            parts.append(str(value))
        elif type(value) is date:
            parts.append(value.isoformat())
        else:
            return values
    return "{" + ",".join(parts) + "}"


def _trail(cursor: Any, label: str, action: str, ids: list[int], *, actor: Any, reason: str,
           when: datetime) -> None:  # fmt: skip
    cursor.execute(
        _trail_sql(label, action),
        {"ids": array_param(ids), "actor": actor.pk, "actor_name": actor.username, "at": when,
         "reason": reason},
    )  # fmt: skip


def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _history_fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    history = model.history.model  # type: ignore[attr-defined]
    return tuple(f for f in history._meta.concrete_fields if f.attname != "history_id")


@cache
def _history_copy_sql(model: type[models.Model]) -> str:
    history = model.history.model  # type: ignore[attr-defined]
    columns = ", ".join(_qn(f.column) for f in _history_fields(model))
    return f"COPY {_qn(history._meta.db_table)} ({columns}) FROM STDIN"


_sequences: dict[tuple[str, str], str] = {}


def _new_ids(cursor: Any, meta: Any, count: int) -> list[int]:
    """`count` ids from the table's sequence (named once per database and table)."""
    key = (connection.settings_dict["NAME"], meta.db_table)
    sequence = _sequences.get(key)
    if sequence is None:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        sequence = _sequences[key] = cursor.fetchone()[0]
    cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
    return [r[0] for r in cursor.fetchall()]


class _InsertPlan:
    """What inserting rows with these keys into `model` needs, computed once."""

    def __init__(self, model: type[models.Model], keys: frozenset[str]) -> None:
        meta = model._meta
        fields = list(meta.concrete_fields)
        names = [f.attname for f in fields]
        self.encrypted = [f.attname for f in fields if isinstance(f, crypto.EncryptedTextField)]
        # Columns the rows leave out get the field's default: the declared one (called per row
        # when it is callable), else "" for text columns, else None (as bulk_insert does).
        missing = [f for f in fields if f.attname not in keys and f.attname != "id"]
        self.constant = {f.attname: f.get_default() for f in missing if not callable(f.default)}
        self.per_row = [f for f in missing if callable(f.default)]
        self.base_tuple = itemgetter(*names)
        self.history_tuple = itemgetter(
            *[
                len(names) + _SPECIALS.index(f.attname)
                if f.attname in _SPECIALS
                else names.index(f.attname)
                for f in _history_fields(model)
            ]
        )
        columns = ", ".join(_qn(f.column) for f in fields)
        self.copy_sql = f"COPY {_qn(meta.db_table)} ({columns}) FROM STDIN"
        self.history_copy_sql = _history_copy_sql(model)


_insert_plans: dict[tuple[type[models.Model], frozenset[str]], _InsertPlan] = {}


def rows_copy_insert(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    actor: Any,
    reason: str,
    when: datetime,
) -> None:
    """Insert `rows` (attname -> Python value; plaintext for encrypted fields; keys that are not
    fields are ignored) with their history and trail rows; sets each row's "id". Must run
    inside a transaction."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        rows_insert_with_history(model, rows, actor=actor, reason=reason, when=when)
        return
    key = (model, frozenset(rows[0]))
    plan = _insert_plans.get(key)
    if plan is None:
        plan = _insert_plans[key] = _InsertPlan(model, key[1])
    specials = (when, reason, "+", actor.pk)
    constant, per_row, encrypted = plan.constant, plan.per_row, plan.encrypted
    base_tuple, history_tuple = plan.base_tuple, plan.history_tuple
    encrypt = crypto.encrypt
    with connection.cursor() as cursor:
        ids = _new_ids(cursor, model._meta, len(rows))
        with cursor.copy(plan.copy_sql) as base_copy:
            history_rows = []
            for row, new_id in zip(rows, ids, strict=True):
                row["id"] = new_id
                if constant or per_row or encrypted:
                    values = {**row, **constant}
                    for f in per_row:
                        values[f.attname] = f.get_default()
                    for name in encrypted:
                        if values[name]:
                            values[name] = encrypt(str(values[name]))
                    base = base_tuple(values)
                else:
                    base = base_tuple(row)
                base_copy.write_row(base)
                history_rows.append(history_tuple(base + specials))
        with cursor.copy(plan.history_copy_sql) as history_copy:
            for history_row in history_rows:
                history_copy.write_row(history_row)
        _trail(cursor, model._meta.label_lower, "create", ids, actor=actor, reason=reason,
               when=when)  # fmt: skip


class _UpdatePlan:
    def __init__(self, model: type[models.Model], fields: tuple[str, ...]) -> None:
        meta = model._meta
        columns = [meta.get_field(name) for name in fields]
        self.getters = [attrgetter(column.attname) for column in columns]
        # Only a field with its own conversion (the encrypted ones) goes through it.
        self.prepared = [
            column if isinstance(column, crypto.EncryptedTextField) else None for column in columns
        ]
        types = ["bigint"] + [column.db_type(connection) for column in columns]
        unnest = ", ".join(f"%s::{t}[]" for t in types)
        names = ", ".join(["id"] + [f"c{n}" for n in range(len(columns))])
        sets = ", ".join(f"{_qn(column.column)} = u.c{n}" for n, column in enumerate(columns))
        self.sql = (
            f"UPDATE {_qn(meta.db_table)} t SET {sets} FROM unnest({unnest}) AS u({names}) "  # noqa: S608 - names from _meta
            "WHERE t.id = u.id"
        )
        history_fields = _history_fields(model)
        self.history_getter = attrgetter(
            *[f.attname for f in history_fields if f.attname not in _SPECIALS]
        )
        self.history_order = itemgetter(
            *[
                len(history_fields) - len(_SPECIALS) + _SPECIALS.index(f.attname)
                if f.attname in _SPECIALS
                else [g.attname for g in history_fields if g.attname not in _SPECIALS].index(
                    f.attname
                )
                for f in history_fields
            ]
        )
        plain = [f.attname for f in history_fields if f.attname not in _SPECIALS]
        encrypted = {
            f.attname for f in meta.concrete_fields if isinstance(f, crypto.EncryptedTextField)
        }
        self.encrypted_positions = [n for n, name in enumerate(plain) if name in encrypted]
        self.history_copy_sql = _history_copy_sql(model)


_update_plans: dict[tuple[type[models.Model], tuple[str, ...]], _UpdatePlan] = {}


def rows_copy_update(
    objs: list[models.Model], fields: list[str], *, actor: Any, reason: str, when: datetime
) -> None:
    """Update `fields` of `objs` (one model) with one history row ("~") and one trail row each,
    set-based: on PostgreSQL one UPDATE ... FROM unnest(...), the history rows by COPY and the
    trail rows in one INSERT ... SELECT (schedules.rows_update elsewhere)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        schedules.rows_update(objs, fields, actor=actor, reason=reason)
        return
    model = type(objs[0])
    key = (model, tuple(fields))
    plan = _update_plans.get(key)
    if plan is None:
        plan = _update_plans[key] = _UpdatePlan(model, key[1])
    ids = [obj.pk for obj in objs]
    arrays: list[list[Any]] = [ids]
    for getter, field in zip(plan.getters, plan.prepared, strict=True):
        if field is None:
            arrays.append([getter(obj) for obj in objs])
        else:
            arrays.append([field.get_db_prep_save(getter(obj), connection) for obj in objs])
    specials = (when, reason, "~", actor.pk)
    history_getter, history_order = plan.history_getter, plan.history_order
    encrypted_positions = plan.encrypted_positions
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, [array_param(values) for values in arrays])
        with cursor.copy(plan.history_copy_sql) as copy:
            for obj in objs:
                values = history_getter(obj)
                if encrypted_positions:
                    values = list(values)
                    for n in encrypted_positions:
                        if values[n]:
                            values[n] = crypto.encrypt(str(values[n]))
                    values = tuple(values)
                copy.write_row(history_order(values + specials))
        _trail(cursor, model._meta.label_lower, "update", ids, actor=actor, reason=reason,
               when=when)  # fmt: skip
