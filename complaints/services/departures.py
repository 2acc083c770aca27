"""A staff member who leaves (accounts.staff.staff_deactivate): their open complaints go back to
the unassigned queue, each through `complaint_unassign` (history with the reason, one case
event). Registered with accounts' `on_staff_departure` registry in `ComplaintsConfig.ready()`."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import events
from ..enums import OPEN_STATUSES
from ..locks import complaint_for_update
from ..models import Complaint


@transaction.atomic
def complaint_unassign(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """Back to the unassigned queue (status unchanged). The caller holds the authority: the
    only caller is the deactivation of the assignee, which checks its own permission."""
    complaint = complaint_for_update(complaint_id=complaint_id, with_assignee=True)
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("Only open complaints can be assigned."), code="not_open")
    previous = complaint.assignee
    if previous is None:
        return complaint
    complaint.assignee = None
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["assignee"])
    events.complaint_assigned_event(
        complaint=complaint, actor=actor, previous_assignee=previous, from_status=complaint.status
    )
    return complaint


def complaints_release_of_departed(*, user: User, actor: User, reason: str) -> list[Complaint]:
    """Every open complaint assigned to `user`, unassigned in pk order (the lock order)."""
    ids = list(
        Complaint.objects.filter(assignee=user, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [complaint_unassign(complaint_id=pk, actor=actor, reason=reason) for pk in ids]
