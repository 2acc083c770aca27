"""Staff acting on a notice that did not (or may not) arrive: resend a failed one, resend an
`unknown` one after confirming the risk of a duplicate, or confirm that an `unknown` one was in
fact delivered (the admin's actions)."""

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


def _locked_for_staff(*, notice_id: int, actor: User) -> Notice:
    if not actor.has_perm("notices.resend_notice"):
        raise Forbidden(_("You may not resend notices."))
    notice = Notice.objects.select_for_update().filter(pk=notice_id).first()
    if notice is None:
        raise ApplicationError(_("No such notice."), code="not_found", status=404)
    return notice


def _reason_required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give a reason."), code="reason_required")
    return reason


@transaction.atomic
def notice_resend(
    *, notice_id: int, actor: User, reason: str, accept_duplicate_risk: bool = False
) -> Notice:
    """Staff: put a failed notice back in the queue (attempts start again). An `unknown` one
    may have arrived already: it is resent only with `accept_duplicate_risk=True` (the staff
    member confirmed that the customer may receive it twice), and the reason says so."""
    notice = _locked_for_staff(notice_id=notice_id, actor=actor)
    if notice.status == NoticeStatus.UNKNOWN:
        if not accept_duplicate_risk:
            raise ApplicationError(
                _(
                    "The outcome of this notice is unknown: it may have been delivered. "
                    "Confirm the risk of a duplicate to resend it."
                ),
                code="notice_duplicate_risk",
            )
        reason = f"{_reason_required(reason)} (resent although its outcome was unknown: "
        reason += "the staff member accepted the risk of a duplicate)"
    elif notice.status != NoticeStatus.FAILED:
        raise ApplicationError(_("Only a failed notice can be resent."), code="notice_not_failed")
    if notice.sensitive:
        raise ApplicationError(
            _("A one-time code is not resent: the customer asks for a new one."),
            code="notice_sensitive",
        )
    notice.status = NoticeStatus.PENDING
    notice.attempts = 0
    notice.next_attempt_at = timezone.now()
    notice.published_at = None  # published on commit below; the sweep if that fails
    notice.last_error = ""
    save_with_history(
        notice,
        actor=actor,
        reason=reason or "resent by staff",
        update_fields=["status", "attempts", "next_attempt_at", "published_at", "last_error"],
    )
    publish_on_commit([notice])
    return notice


@transaction.atomic
def notice_confirm_delivered(*, notice_id: int, actor: User, reason: str) -> Notice:
    """Staff: an `unknown` notice was in fact delivered (the provider's log shows its message
    id, the customer confirmed): it becomes `sent` as of now, which counts as its delivery
    (windows counted from it start now, never earlier than staff knew). The reason is
    required and kept."""
    notice = _locked_for_staff(notice_id=notice_id, actor=actor)
    reason = _reason_required(reason)
    if notice.status != NoticeStatus.UNKNOWN:
        raise ApplicationError(
            _("Only a notice whose outcome is unknown can be confirmed as delivered."),
            code="notice_not_unknown",
        )
    notice.status = NoticeStatus.SENT
    notice.sent_at = timezone.now()
    save_with_history(
        notice,
        actor=actor,
        reason=f"delivery confirmed by staff: {reason}",
        update_fields=["status", "sent_at"],
    )
    return notice
