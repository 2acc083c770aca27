"""Staff admin of the outbox: the list with delivery proof, and a "resend" action."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core.admin_helpers import DomainAdmin, reason_action_response

from .models import Notice
from .services import notice_resend


@admin.register(Notice)
class NoticeAdmin(DomainAdmin):
    list_display = (
        "id",
        "created_at",
        "event",
        "recipient",
        "address",
        "channel",
        "language",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "provider_message_id",
    )
    list_filter = ("status", "channel", "language")
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient",)
    search_help_text = _("Exact recipient username or address, or the start of an event name.")
    search_fields = ("event",)  # enables the box; get_search_results decides the lookups
    ordering = ("-created_at", "-pk")
    date_hierarchy = None
    # The sealed body of a one-time code is never shown.
    fields = (
        "event",
        "recipient",
        "address",
        "channel",
        "language",
        "content_type",
        "object_id",
        "idempotency_key",
        "subject",
        "body",
        "sensitive",
        "status",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "last_error",
        "provider_message_id",
        "sent_at",
        "created_at",
    )
    actions = ("resend",)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # Exact or prefix lookups that the indexes serve (no %contains% over a large table).
        term = search_term.strip()
        if not term:
            return queryset, False
        user_ids = list(
            get_user_model().objects.filter(username=term).values_list("pk", flat=True)[:1]
        )
        return (
            queryset.filter(
                Q(recipient_id__in=user_ids) | Q(address=term) | Q(event__startswith=term)
            ),
            False,
        )

    def has_resend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("notices.resend_notice")

    @admin.action(description=_("Resend failed notices"), permissions=["resend"])
    def resend(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return reason_action_response(
            self,
            request,
            queryset,
            action="resend",
            title=str(_("Resend failed notices")),
            call=lambda notice, reason: notice_resend(
                notice_id=notice.pk, actor=request.user, reason=reason
            ),
            describe=lambda notice: f"#{notice.pk} {notice.event} [{notice.channel}]",
        )
