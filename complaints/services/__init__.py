"""Every write of the complaints domain. One transaction per function: lock the rows (pk order),
check the allowed-from state under the lock, save with history, write the case event, enqueue
the notices in the same transaction (PRODUCT.md, STYLE.md)."""

from __future__ import annotations

from .common import (
    INCIDENT_THRESHOLD,
    INCIDENT_WINDOW,
    _event,
    _notify_customer,
    _notify_staff,
    complaint_for_update,
    complaint_staff_with_stake,
)
from .decision import (
    ItemDecision,
    complaint_close,
    complaint_decide,
    complaint_decision_approve,
    complaint_decision_return,
)
from .intake import complaint_submit, incident_check
from .review import review_decide, review_request, review_staff_excluded
from .workflow import (
    complaint_assign,
    complaint_extend,
    complaint_extension_approve,
    complaint_extension_request,
    complaint_message_send,
    complaint_note_add,
    complaint_pause,
    complaint_resume,
    complaint_withdraw,
)

__all__ = [
    "INCIDENT_THRESHOLD",
    "INCIDENT_WINDOW",
    "ItemDecision",
    "_event",
    "_notify_customer",
    "_notify_staff",
    "complaint_assign",
    "complaint_close",
    "complaint_decide",
    "complaint_decision_approve",
    "complaint_decision_return",
    "complaint_extend",
    "complaint_extension_approve",
    "complaint_extension_request",
    "complaint_for_update",
    "complaint_message_send",
    "complaint_note_add",
    "complaint_pause",
    "complaint_resume",
    "complaint_staff_with_stake",
    "complaint_submit",
    "complaint_withdraw",
    "incident_check",
    "review_decide",
    "review_request",
    "review_staff_excluded",
]
