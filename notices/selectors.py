"""Reads of the notice outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from .enums import Channel
from .models import Notice

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User


def notices_for_customer(user: User) -> QuerySet[Notice]:
    """The customer's portal inbox: their portal notices, newest first (never one-time codes)."""
    return Notice.objects.filter(recipient=user, channel=Channel.PORTAL, sensitive=False).order_by(
        "-created_at", "-pk"
    )
