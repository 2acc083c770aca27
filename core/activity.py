"""The activity trail: one stream of who did what, to which object, why, from where.

- Every service write goes through `core.audit.save_with_history`, which calls
  `activity_record_save()` in the same transaction: the action (`<app>.<model>.create|update`),
  the object, the fields that changed (before -> after, masked), the reason, and the request's IP
  and id (set by `ActivityContextMiddleware`) or the system actor of a command or task.
- Sign-ins, failed sign-ins, step-ups and unmasked views call `activity_record()` directly.
- Bulk paths (seeding, the risk scan) insert their rows set-based with
  `activity_insert_from_history_sql()`.

Values are masked before they are stored (personal data shows as 138****5678, secrets only as
"changed"), so the trail never holds what key rotation would have to rewrite.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, models
from django.http import HttpRequest, HttpResponse

from . import crypto
from .models import ActivityEntry
from .net import client_ip, request_context

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "activity_context", default=None
)

# Fields never shown in the trail, only said to have changed.
SECRET_FIELDS = frozenset(
    {"password", "security_stamp", "key", "token", "sealed_body", "code_hash", "secret"}
)
REDACTED = "[changed]"
MASKED = "***"
# The first of these an object has names it in the trail; "code": partner interfaces (the only
# model with that field; a secret one-time code is never stored as `code`).
LABEL_ATTRIBUTES = ("reference", "number", "username", "name", "code")


# --- Request context --------------------------------------------------------------------------


@contextmanager
def activity_context(*, ip: str | None = None, request_id: str = ""):
    token = _context.set({"ip": ip or "", "request_id": request_id})
    try:
        yield
    finally:
        _context.reset(token)


def _current() -> dict[str, str]:
    return _context.get() or {}


class ActivityContextMiddleware:
    """Puts the client's IP and a request id (the caller's X-Request-ID, else a new one) where
    every trail row written during this request finds them; echoes the id in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = (request.headers.get("X-Request-ID") or "").strip()
        request_id = given[:64] if given.isprintable() and given else uuid.uuid4().hex
        with (
            activity_context(ip=client_ip(request) or None, request_id=request_id),
            request_context(request),
        ):
            response = self.get_response(request)
        response.setdefault("X-Request-ID", request_id)
        return response


# --- Values ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return value
    return str(value)


def masked_value(field: models.Field, value: Any) -> Any:
    if field.name in SECRET_FIELDS or field.name.endswith("_index"):
        return REDACTED
    if isinstance(field, crypto.EncryptedTextField):
        text = str(value or "")
        if "phone" in field.name:
            return crypto.mask_phone(text) if text else ""
        if "national_id" in field.name:
            return crypto.mask_national_id(text) if text else ""
        return MASKED if text else ""
    if isinstance(field, models.BinaryField):
        return REDACTED
    return _plain(value)


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The loaded values of the instance's concrete fields (deferred ones left out)."""
    loaded = instance.__dict__
    return {
        f.attname: loaded[f.attname] for f in instance._meta.concrete_fields if f.attname in loaded
    }


def remember_loaded(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    """post_init receiver (library plumbing, connected in CoreConfig.ready for models with
    history): keep what was loaded, so a save can say what it changed."""
    instance._activity_loaded = snapshot(instance)  # noqa: SLF001


def changes_of(
    instance: models.Model, *, before: dict[str, Any] | None, update_fields: Iterable[str] | None
) -> dict[str, list[Any]]:
    wanted = set(update_fields) if update_fields is not None else None
    changes: dict[str, list[Any]] = {}
    for field in instance._meta.concrete_fields:
        if wanted is not None and field.name not in wanted and field.attname not in wanted:
            continue
        after = instance.__dict__.get(field.attname)
        old = (before or {}).get(field.attname)
        if before is not None and old == after:
            continue
        if before is None and after in (None, ""):
            continue
        changes[field.name] = [
            None if before is None else masked_value(field, old),
            masked_value(field, after),
        ]
    return changes


def object_label(instance: models.Model) -> str:
    for attribute in LABEL_ATTRIBUTES:
        value = instance.__dict__.get(attribute)
        if value:
            return str(value)[:200]
    return f"{instance._meta.model_name} {instance.pk}"[:200]


# --- Writing ----------------------------------------------------------------------------------


def activity_record(
    *,
    actor: Any,
    action: str,
    reason: str = "",
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    label: str = "",
    changes: dict[str, Any] | None = None,
    ip: str | None = None,
) -> ActivityEntry:
    """One trail row, in the caller's transaction (sign-ins, step-ups, unmasked views...)."""
    context = _current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        label = label or object_label(obj)
    actor_id = getattr(actor, "pk", None)
    return ActivityEntry.objects.create(
        actor_id=actor_id,
        actor_username=str(getattr(actor, "username", "") or "")[:150],
        action=action[:80],
        object_type=object_type[:80],
        object_id=str(object_id)[:64],
        object_label=label[:200],
        changes=changes or {},
        reason=reason or "",
        ip_address=ip or context.get("ip") or None,
        request_id=context.get("request_id", ""),
        # PostgreSQL: the row's insert trigger sets the transaction id; SQLite has none.
        xact=None if connection.vendor == "postgresql" else 0,
    )


def activity_record_save(
    instance: models.Model,
    *,
    actor: Any,
    reason: str,
    created: bool,
    before: dict[str, Any] | None,
    update_fields: Iterable[str] | None,
) -> ActivityEntry:
    changes = changes_of(instance, before=None if created else before, update_fields=update_fields)
    action = f"{instance._meta.label_lower}.{'create' if created else 'update'}"
    return activity_record(actor=actor, action=action, reason=reason, obj=instance, changes=changes)


def activity_insert_from_history_sql(
    *, history_table: str, object_type: str, label_column: str | None, where: str
) -> str:
    """SQL that writes one trail row per history row matching `where` (set-based bulk paths):
    actor, time, reason and the object come from the history row; `changes` stays empty (the
    history row itself holds the values). Use inside the bulk path's own transaction."""
    label = f"COALESCE(h.{label_column}::text, '')" if label_column else "''"
    users = get_user_model()._meta.db_table
    return f"""
        INSERT INTO core_activityentry
            (at, actor_id, actor_username, action, object_type, object_id, object_label,
             changes, reason, ip_address, request_id)
        SELECT h.history_date, h.history_user_id, COALESCE(u.username, ''),
               '{object_type}.' || CASE h.history_type WHEN '+' THEN 'create' ELSE 'update' END,
               '{object_type}', h.id::text, LEFT({label}, 200), '{{}}'::jsonb,
               COALESCE(h.history_change_reason, ''), NULL, ''
        FROM {history_table} h LEFT JOIN {users} u ON u.id = h.history_user_id
        WHERE {where}
    """  # noqa: S608 - table and column names come from model _meta, never from input


# --- Sign-ins (receivers of django.contrib.auth's signals: library plumbing) ---------------------


def on_logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    ip = client_ip(request) if request is not None else None
    activity_record(actor=user, action="auth.login", obj=user, ip=ip)


def on_login_failed(
    sender: Any, credentials: dict, request: HttpRequest | None = None, **kwargs: Any
) -> None:
    username = str(credentials.get("username", ""))[:150]
    ip = client_ip(request) if request is not None else None
    entry_fields = {"label": username.replace("\x00", "")}
    activity_record(actor=None, action="auth.login_failed", ip=ip, **entry_fields)


def activity_insert_sql(
    *, source: str, object_type: str, actor: str, actor_name: str, at: str, reason: str
) -> str:
    """An INSERT ... SELECT writing one trail row ('<object_type>.create') per row of `source`
    (a CTE or table alias with an `id` column), for set-based writers such as the risk scan;
    the other arguments are SQL expressions or parameter placeholders. The changes stay empty:
    the history rows written beside them hold the values."""
    model_name = object_type.partition(".")[2]
    return f"""
        INSERT INTO core_activityentry
            (at, actor_id, actor_username, action, object_type, object_id, object_label,
             changes, reason, ip_address, request_id)
        SELECT {at}, {actor}, {actor_name}, '{object_type}.create', '{object_type}',
               src.id::text, '{model_name} ' || src.id, '{{}}'::jsonb, {reason}, NULL, ''
        FROM {source} src
    """  # noqa: S608 - names come from our models, values are parameters
