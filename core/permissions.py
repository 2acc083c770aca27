"""A signed-in user's permissions and role groups in one query per request.

Django's ModelBackend reads a user's own permissions and their groups' permissions in two
queries, and the auditor check (`core.admin_helpers.user_is_auditor`) read the groups in a
third: three of every admin page's queries. `PermissionBackend` reads all three in one
``UNION ALL`` and keeps them on the user object for the request, where ModelBackend keeps its
own (``_user_perm_cache``, ``_group_perm_cache``, ``_perm_cache``): nothing is kept between
requests, so a role granted or taken away counts from the next request, as before.

A signed-in request reads them with the user itself: `PermissionBackend.get_user` (what
`AuthenticationMiddleware` calls with the session's user id) selects the user's row with the
same three sets as one array column, so the user and their permissions cost one query.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models.expressions import RawSQL

_GROUP_NAMES = "_backoffice_group_names"


@cache
def _sql(user: str = "%s") -> str:
    """The three sets as rows (kind, app label, code name or group name) for the user whose id
    is `user`: a parameter, or the outer query's column when the user row is read with them."""
    user_model = get_user_model()
    own = user_model.user_permissions.through._meta
    member = user_model.groups.through._meta
    granted = Group.permissions.through._meta
    q = connection.ops.quote_name
    perm, ctype, group = Permission._meta.db_table, ContentType._meta.db_table, Group._meta.db_table
    own_user, own_perm = own.get_field("user").column, own.get_field("permission").column
    member_user = member.get_field("user").column
    member_group = member.get_field("group").column
    granted_group = granted.get_field("group").column
    granted_perm = granted.get_field("permission").column
    # Names from the models' metadata, quoted; the user's id is a parameter.
    return (
        f"SELECT 'u', ct.{q('app_label')}, p.{q('codename')} FROM {q(perm)} p "  # noqa: S608
        f"JOIN {q(ctype)} ct ON ct.{q('id')} = p.{q('content_type_id')} "
        f"JOIN {q(own.db_table)} up ON up.{q(own_perm)} = p.{q('id')} "
        f"WHERE up.{q(own_user)} = {user} "
        "UNION ALL "
        f"SELECT 'g', ct.{q('app_label')}, p.{q('codename')} FROM {q(perm)} p "
        f"JOIN {q(ctype)} ct ON ct.{q('id')} = p.{q('content_type_id')} "
        f"JOIN {q(granted.db_table)} gp ON gp.{q(granted_perm)} = p.{q('id')} "
        f"JOIN {q(member.db_table)} ug ON ug.{q(member_group)} = gp.{q(granted_group)} "
        f"WHERE ug.{q(member_user)} = {user} "
        "UNION ALL "
        f"SELECT 'n', '', g.{q('name')} FROM {q(group)} g "
        f"JOIN {q(member.db_table)} ug ON ug.{q(member_group)} = g.{q('id')} "
        f"WHERE ug.{q(member_user)} = {user}"
    )


_ROWS = "_backoffice_permission_rows"


@cache
def _with_user_sql() -> str:
    """The same rows as one text array column of the user's own row: "kind:app_label:name"."""
    user_model = get_user_model()
    q = connection.ops.quote_name
    outer = f"{q(user_model._meta.db_table)}.{q(user_model._meta.pk.column)}"
    # The three columns of _sql() joined into one text; a group name may hold ":" (split once
    # per separator from the left: the kind and the app label never do).
    return (
        f"ARRAY(SELECT r.kind || ':' || r.app_label || ':' || r.name FROM ({_sql(outer)}) "  # noqa: S608
        "AS r(kind, app_label, name))"
    )


def _load(user: Any) -> None:
    """Read the user's permissions and group names at once (unless they came with the user's
    row); keep them on the object."""
    own: set[str] = set()
    granted: set[str] = set()
    names: set[str] = set()
    rows = user.__dict__.pop(_ROWS, None)
    if rows is not None:
        found = [tuple(row.split(":", 2)) for row in rows]
    else:
        with connection.cursor() as cursor:
            cursor.execute(_sql(), [user.pk, user.pk, user.pk])
            found = cursor.fetchall()
    for kind, app_label, name in found:
        if kind == "n":
            names.add(name)
        else:
            (own if kind == "u" else granted).add(f"{app_label}.{name}")
    setattr(user, _GROUP_NAMES, frozenset(names))
    if not user.is_superuser:  # a superuser's permissions are all of them (ModelBackend's)
        user._user_perm_cache = own
        user._group_perm_cache = granted


def user_group_names(user: Any) -> frozenset[str]:
    """The names of the user's groups (their roles), read once per user object."""
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return frozenset()
    names = getattr(user, _GROUP_NAMES, None)
    if names is None:
        _load(user)
        names = getattr(user, _GROUP_NAMES)
    return names


class PermissionBackend(ModelBackend):
    """ModelBackend, with the user's permissions and groups read in one query, the user's own
    when the session's user is read."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.annotate(
                **{_ROWS: RawSQL(_with_user_sql(), ())}  # noqa: S611 - names from model metadata
            ).get(pk=user_id)
        except (user_model.DoesNotExist, ValueError, TypeError):
            return None
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if (
            obj is None
            and user_obj.is_active
            and not user_obj.is_anonymous
            and not user_obj.is_superuser
            and not hasattr(user_obj, "_perm_cache")
            and not hasattr(user_obj, "_user_perm_cache")
        ):
            _load(user_obj)
        return super().get_all_permissions(user_obj, obj)
