"""Every write of the complaints domain, split by step of a case:

- `intake.py`: filing a complaint (portal, API, phone, letter), disputing its loans in the
  ledger, and incident detection;
- `workflow.py`: assignment, notes, messages, the decision clock, the customer's withdrawal;
- `decision.py`: drafting, approving (maker-checker, step-up), returning, applying and closing;
- `review.py`: the customer's request for a review and its decision;
- `common.py`: the transition and permission checks, the clock's due date, notices, stakes.

One transaction per entry point: lock the rows (complaints.locks, in the global order), check
the allowed-from state under the lock, save with history, write the case events
(complaints.events), enqueue the notices in the same transaction (PRODUCT.md, STYLE.md). Ledger
rows are written only through accounts.services.
"""

from __future__ import annotations

from .common import complaint_staff_with_stake
from .decision import (
    ItemDecision,
    complaint_close,
    complaint_decide,
    complaint_decision_approve,
    complaint_decision_return,
)
from .intake import INCIDENT_THRESHOLD, INCIDENT_WINDOW, Referral, complaint_submit, incident_check
from .regulator import REPLYABLE_STATUSES, regulator_reply_record
from .review import (
    review_can_request,
    review_decide,
    review_request,
    review_staff_excluded,
    review_until,
)
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
    "REPLYABLE_STATUSES",
    "INCIDENT_THRESHOLD",
    "INCIDENT_WINDOW",
    "ItemDecision",
    "Referral",
    "complaint_assign",
    "complaint_close",
    "complaint_decide",
    "complaint_decision_approve",
    "complaint_decision_return",
    "complaint_extend",
    "complaint_extension_approve",
    "complaint_extension_request",
    "complaint_message_send",
    "complaint_note_add",
    "complaint_pause",
    "complaint_resume",
    "complaint_staff_with_stake",
    "complaint_submit",
    "complaint_withdraw",
    "incident_check",
    "regulator_reply_record",
    "review_can_request",
    "review_decide",
    "review_request",
    "review_staff_excluded",
    "review_until",
]
