"""Admin pages of the conversation (imported by complaints/admin.py): the canned replies,
managed by managers (with a reason, history, retired rather than deleted), and the files of the
conversation, each a download for staff who may view complaints."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest
from django.urls import path

from core.admin_helpers import DomainAdmin, StaffModelAdmin

from .forms_conversation import CannedReplyAdminForm
from .models import CannedReply, ConversationAttachment, ConversationMessage
from .selectors_conversation import conversation_attachment_for_staff
from .services.conversation import canned_reply_save
from .views import attachment_download


@admin.register(CannedReply)
class CannedReplyAdmin(StaffModelAdmin):
    form = CannedReplyAdminForm
    list_display = ("title", "language", "active", "created_at")
    list_filter = ("language", "active")
    search_fields = ("title",)
    ordering = ("language", "title", "id")

    def save_model(self, request: HttpRequest, obj: CannedReply, form, change: bool) -> None:
        # Through the service (permission, placeholders, reason in the history and the trail).
        canned_reply_save(reply=obj, actor=request.user, reason=form.cleaned_data["reason"])


@admin.register(ConversationMessage)
class ConversationMessageAdmin(DomainAdmin):
    list_display = ("complaint", "author_kind", "author", "created_at")
    list_select_related = ("complaint", "author")
    list_filter = ("author_kind",)
    raw_id_fields = ("complaint", "author", "canned_reply")
    search_fields = ("complaint__reference",)
    ordering = ("-created_at", "-id")


@admin.register(ConversationAttachment)
class ConversationAttachmentAdmin(DomainAdmin):
    list_display = ("name", "content_type", "size", "message", "created_at")
    list_select_related = ("message",)
    raw_id_fields = ("message",)
    exclude = ("file",)
    ordering = ("-created_at", "-id")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:attachment_id>/download/",
                wrap(self.download_view),
                name="complaints_conversationattachment_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, attachment_id: int) -> FileResponse:
        if not request.user.has_perm("complaints.view_complaint"):
            raise PermissionDenied
        return attachment_download(conversation_attachment_for_staff(attachment_id=attachment_id))
