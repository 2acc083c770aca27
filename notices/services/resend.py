"""Staff putting a failed notice back in the queue (the admin's "resend" action)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import save_with_history
from core.errors import ApplicationError, Forbidden

from ..enums import NoticeStatus
from ..models import Notice
from .publish import publish_on_commit

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser as User


@transaction.atomic
def notice_resend(*, notice_id: int, actor: User, reason: str) -> Notice:
    """Staff: put a failed notice back in the queue (attempts start again)."""
    if not actor.has_perm("notices.resend_notice"):
        raise Forbidden(_("You may not resend notices."))
    notice = Notice.objects.select_for_update().get(pk=notice_id)
    if notice.status != NoticeStatus.FAILED:
        raise ApplicationError(_("Only a failed notice can be resent."), code="notice_not_failed")
    if notice.sensitive:
        raise ApplicationError(
            _("A one-time code is not resent: the customer asks for a new one."),
            code="notice_sensitive",
        )
    notice.status = NoticeStatus.PENDING
    notice.attempts = 0
    notice.next_attempt_at = timezone.now()
    notice.last_error = ""
    save_with_history(
        notice,
        actor=actor,
        reason=reason or "resent by staff",
        update_fields=["status", "attempts", "next_attempt_at", "last_error"],
    )
    publish_on_commit([notice])
    return notice
