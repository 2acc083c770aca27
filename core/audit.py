"""Who did it and why: the history user and change reason that django-simple-history records.

Every service takes a keyword-only `actor` (a User) and a `reason`. Commands and Celery tasks
act as a named system actor (`system_actor("risk-scan")`), never as nobody.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User

SYSTEM_PREFIX = "system:"

# Every reason a person types (forms and API fields) is capped here; history stores it whole.
REASON_MAX_LENGTH = 1000


def system_actor(name: str = "system") -> User:
    """The named, unusable login that commands and tasks act as (`system:<name>`)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    username = name if name.startswith(SYSTEM_PREFIX) else f"{SYSTEM_PREFIX}{name}"
    user, created = user_model.objects.get_or_create(
        username=username,
        defaults={"is_active": False, "first_name": name},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def stamp(instance: models.Model, *, actor: Any, reason: str) -> models.Model:
    """Tell simple-history who makes the next save of `instance` and why."""
    instance._history_user = actor  # noqa: SLF001 - simple-history's documented hook
    instance._change_reason = reason  # noqa: SLF001
    return instance


def save_with_history(
    instance: models.Model, *, actor: Any, reason: str, update_fields: list[str] | None = None
) -> None:
    """Save with simple-history's user and reason, and write the activity trail's row for it
    (what changed, before -> after, masked) in the same transaction."""
    from .activity import activity_record_save, snapshot  # activity imports core.models

    stamp(instance, actor=actor, reason=reason)
    created = instance._state.adding
    before = getattr(instance, "_activity_loaded", None)
    if update_fields is None:
        instance.save()
    else:
        instance.save(update_fields=update_fields)
    activity_record_save(
        instance,
        actor=actor,
        reason=reason,
        created=created,
        before=before,
        update_fields=update_fields,
    )
    instance._activity_loaded = snapshot(instance)  # noqa: SLF001 - the next save diffs from here
