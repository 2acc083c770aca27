"""What the complaint services share: the transition check, the permission check, the decision
clock's arithmetic, the notices to the customer and to staff, and who has a stake in a case.
(Row locks are in complaints.locks, case events in complaints.events.)"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import hooks as account_hooks
from accounts.models import User
from core.errors import ApplicationError, Forbidden
from notices.models import Notice
from notices.services import notice_enqueue, notice_enqueue_staff

from .. import clock
from ..enums import TRANSITIONS, Category, Status
from ..models import Complaint


def reference_new() -> str:
    return f"CP{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def origin_of(complaint: Complaint) -> str:
    """How the ledger names this case (the `origin` of its credit-report rows, the reason of
    its loans' history rows)."""
    return f"complaint:{complaint.reference}"


def transition(complaint: Complaint, new_status: str) -> str:
    """Move the (locked) complaint to `new_status` if TRANSITIONS allow it; returns the old."""
    old = complaint.status
    if new_status not in TRANSITIONS[old]:
        raise ApplicationError(
            _("The complaint cannot go from %(old)s to %(new)s.")
            % {"old": complaint.get_status_display(), "new": Status(new_status).label},
            code="invalid_complaint_transition",
        )
    complaint.status = new_status
    return old


def require_perm(actor: User, perm: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(perm)):
        raise Forbidden(_("You are not allowed to do this."), code="forbidden")


def require_reason(reason: str, *, field: str = "reason") -> None:
    if not reason.strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={field: [_("Required.")]}
        )


def recompute_due(complaint: Complaint) -> None:
    complaint.due_at = (
        clock.add_calendar_days(complaint.received_at, complaint.clock_days)
        + complaint.paused_total
    )
    # A regulator's own deadline is not ours to extend or pause: the earlier one binds.
    if complaint.regulator_due_at and complaint.regulator_due_at < complaint.due_at:
        complaint.due_at = complaint.regulator_due_at


def _context(complaint: Complaint, **extra) -> dict:
    return {
        "reference": complaint.reference,
        # The label itself (lazy): rendered in the recipient's language, not the request's.
        "category": Category(complaint.category).label,
        "due_at": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M"),
        "url": f"{settings.PORTAL_BASE_URL}/portal/complaints/{complaint.reference}/",
        **extra,
    }


def notify_customer(
    complaint: Complaint, event: str, *, actor: User, key: str = "", **extra
) -> list[Notice]:
    return notice_enqueue(
        event=event,
        recipient=complaint.customer.user,
        context=_context(complaint, **extra),
        actor=actor,
        obj=complaint,
        key=key,
    )


def notify_staff(
    event: str,
    *,
    actor: User,
    obj: models.Model | None = None,
    role: str | None = None,
    user: User | None = None,
    key: str = "",
    **context,
) -> list[Notice]:
    return notice_enqueue_staff(
        event=event, context=context, actor=actor, role=role, user=user, obj=obj, key=key
    )


def complaint_staff_with_stake(*, complaint: Complaint) -> set[int]:
    """Staff who may not handle this case (conflict of interest): whoever proposed or approved a
    closure of its account in the last 12 months, whatever the complaint's category."""
    if not complaint.account_id:
        return set()
    return account_hooks.staff_with_stake(account_id=complaint.account_id)


def stake_refuse(complaint: Complaint, *, actor: User) -> None:
    """Refuse any staff action on a case in which `actor` has a stake (PRODUCT.md "Nobody
    handles a case in which they have a stake"). Checked under the complaint's lock."""
    if actor.is_staff and actor.pk in complaint_staff_with_stake(complaint=complaint):
        raise ApplicationError(
            _("You have a stake in this case: another member of staff must handle it."),
            code="conflict_of_interest",
            status=403,
        )
