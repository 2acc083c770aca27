"""Staff admin of the outbox: the list with delivery proof, and a "resend" action."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_helpers import DomainAdmin, ReasonForm, reason_action_response
from core.errors import ApplicationError

from .enums import Channel, NoticeStatus
from .models import Notice
from .services import notice_confirm_delivered, notice_resend
from .services.send import message_id_of


class ResendUnknownForm(ReasonForm):
    accept_duplicate_risk = forms.BooleanField(
        required=True,
        label=_("I understand that the customer may receive these notices twice."),
    )


def _risk_of(notice: Notice) -> str:
    """What staff should know before resending a notice whose outcome is unknown."""
    message_id = notice.provider_message_id or (
        message_id_of(notice) if notice.channel == Channel.EMAIL else f"notice-{notice.pk}"
    )
    return gettext(
        "#%(id)s %(event)s [%(channel)s]: handed to the provider, acceptance unknown "
        "(%(error)s). Check the provider's log for %(message_id)s first: it may have arrived."
    ) % {
        "id": notice.pk,
        "event": notice.event,
        "channel": notice.channel,
        "error": notice.last_error or "-",
        "message_id": message_id,
    }


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
        "published_at",
        "expires_at",
        "claimed_at",
        "last_error",
        "provider_message_id",
        "sent_at",
        "created_at",
    )
    actions = ("resend", "resend_unknown", "confirm_delivered")

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

    @admin.action(
        description=_("Resend notices whose outcome is unknown (may duplicate)"),
        permissions=["resend"],
    )
    def resend_unknown(self, request: HttpRequest, queryset: QuerySet) -> Any:
        """Two steps: a page stating the duplicate risk of each notice, then the resend with a
        reason and the explicit confirmation of that risk."""
        queryset = queryset.filter(status=NoticeStatus.UNKNOWN)
        confirmed = "reason_confirmed" in request.POST
        form = ResendUnknownForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            done = 0
            for notice in queryset.order_by("pk"):
                try:
                    notice_resend(
                        notice_id=notice.pk,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                        accept_duplicate_risk=form.cleaned_data["accept_duplicate_risk"],
                    )
                except ApplicationError as exc:
                    self.message_user(request, f"#{notice.pk}: {exc.message}", messages.ERROR)
                else:
                    done += 1
            if done:
                self.message_user(
                    request,
                    gettext("%(count)d notice(s) resent.") % {"count": done},
                    messages.SUCCESS,
                )
            return None
        objects = list(queryset.order_by("pk")[:200])
        if not objects:
            self.message_user(
                request, gettext("None of the selected notices has an unknown outcome.")
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Resend notices whose outcome is unknown"),
            "opts": self.model._meta,
            "objects": [_risk_of(n) for n in objects],
            "selected": [n.pk for n in objects],
            "action": "resend_unknown",
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/notices/resend_unknown.html", context)

    @admin.action(
        description=_("Confirm the delivery of notices whose outcome is unknown"),
        permissions=["resend"],
    )
    def confirm_delivered(self, request: HttpRequest, queryset: QuerySet) -> Any:
        return reason_action_response(
            self,
            request,
            queryset,
            action="confirm_delivered",
            title=str(_("Confirm the delivery of notices whose outcome is unknown")),
            call=lambda notice, reason: notice_confirm_delivered(
                notice_id=notice.pk, actor=request.user, reason=reason
            ),
            describe=_risk_of,
        )
