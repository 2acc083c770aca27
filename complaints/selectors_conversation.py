"""Reads of the conversation on a case and of the canned replies (access-scoped: another
customer's complaint or file is a 404)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import User

from .models import CannedReply, Complaint, ConversationAttachment, ConversationMessage

logger = logging.getLogger(__name__)

# The case page offers the canned replies of the customer's language on every view: they are
# kept in the shared cache, dropped when a reply is saved (services.canned_reply_save), and at
# most this old whatever happens (a save racing a read that refills the cache).
CANNED_REPLIES_SECONDS = 300


def conversation_messages(*, complaint: Complaint) -> QuerySet[ConversationMessage]:
    """The case's messages with their files, newest first (conversation_complaint_idx); two
    queries for any number of messages."""
    return (
        ConversationMessage.objects.filter(complaint=complaint)
        .select_related("author")
        .prefetch_related(
            Prefetch("attachments", queryset=ConversationAttachment.objects.order_by("pk"))
        )
        .order_by("-created_at", "-id")
    )


def conversation_attachment_for_user(
    *, user: User, reference: str, attachment_id: int
) -> ConversationAttachment:
    """A file of the caller's own complaint `reference`, or 404."""
    if not user.is_authenticated or user.is_staff:
        raise Http404
    try:
        return ConversationAttachment.objects.select_related("message__complaint").get(
            pk=attachment_id,
            message__complaint__reference=reference,
            message__complaint__customer__user=user,
        )
    except ConversationAttachment.DoesNotExist as exc:
        raise Http404 from exc


def conversation_attachment_for_staff(*, attachment_id: int) -> ConversationAttachment:
    try:
        return ConversationAttachment.objects.select_related("message__complaint").get(
            pk=attachment_id
        )
    except ConversationAttachment.DoesNotExist as exc:
        raise Http404 from exc


def canned_replies_for(*, language: str) -> QuerySet[CannedReply]:
    """The replies in use in `language`, by title."""
    return CannedReply.objects.filter(active=True, language=language).order_by("title", "pk")


def _canned_key(language: str) -> str:
    return f"complaints:canned-replies:{language}"


def canned_replies_offered(*, language: str) -> list[CannedReply]:
    """`canned_replies_for(language)` as a list, from the shared cache when it has them; with
    the cache out of reach, from the database (logged)."""
    key = _canned_key(language)
    try:
        replies = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache's client errors vary by backend
        logger.warning("canned replies: the cache is unavailable; read from the database")
        return list(canned_replies_for(language=language))
    if replies is None:
        replies = list(canned_replies_for(language=language))
        try:
            cache.set(key, replies, CANNED_REPLIES_SECONDS)
        except Exception:  # noqa: BLE001
            logger.warning("canned replies: the cache is unavailable; not kept")
    return replies


def canned_replies_forget() -> None:
    """Drop the kept canned replies of every language (after a reply was saved)."""
    try:
        cache.delete_many([_canned_key(code) for code, _name in settings.LANGUAGES])
    except Exception:  # noqa: BLE001 - then they are at most CANNED_REPLIES_SECONDS old
        logger.warning("canned replies: the cache is unavailable; not dropped")
