"""Reads of the conversation on a case and of the canned replies (access-scoped: another
customer's complaint or file is a 404)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import User

from .models import CannedReply, Complaint, ConversationAttachment, ConversationMessage


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
