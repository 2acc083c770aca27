"""The closures app's door to the notices outbox (kept in one place so the services read plainly)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models

from accounts.models import User


def customer_notice(
    *,
    event: str,
    recipient: User,
    context: dict[str, Any],
    actor: User,
    obj: models.Model | None = None,
    channels: Sequence[str] | None = None,
    sensitive: bool = False,
    key: str = "",
) -> list:
    from backoffice.notices.services import notice_enqueue

    return notice_enqueue(
        event=event,
        recipient=recipient,
        context=context,
        actor=actor,
        obj=obj,
        channels=channels,
        sensitive=sensitive,
        key=key,
    )


def staff_notice(
    *,
    event: str,
    context: dict[str, Any],
    actor: User,
    role: str | None = None,
    obj: models.Model | None = None,
    key: str = "",
) -> list:
    from backoffice.notices.services import notice_enqueue_staff

    return notice_enqueue_staff(
        event=event, context=context, actor=actor, role=role, obj=obj, key=key
    )
