"""Every write of the closures domain (STYLE.md "Writing a state transition"). Each transition is
one transaction that locks its rows in the global order (closures/locks.py: the account, then
the closure, then its appeal), checks the allowed-from state under the lock, records who and why
(history, and one ClosureEvent through closures/events.py), and writes its notices in the same
transaction. The ledger is written only through accounts' services.

Split by sub-domain; this package re-exports the public names, so both
`from closures import services; services.closure_approve(...)` and
`from closures.services import closure_propose` work:

- `customer_request`: the customer's own request, its one-time code, confirmation, and
  requests never confirmed (withdrawn by the sweep).
- `proposals`: proposals by staff, by the risk engine's signals and by the risk scan; review
  (approve with four eyes and a fresh code, reject) and withdrawal.
- `effect`: taking effect on the date (lending ends), and closing once the balance is repaid.
- `appeals`: filing (with an attachment check), taking up, deciding; an upheld appeal reverses
  the closure exactly.
- `alerts`: acknowledging an abnormal-closure alert.
- `campaigns`: policy closure campaigns (a segment, four eyes, one closure per account written
  in resumable batches).
- `common`: the transition and permission checks, the customer notice, opening and ending.
"""

from .alerts import closure_alert_acknowledge
from .appeals import appeal_decide, appeal_file, appeal_take_up, attachment_check
from .campaigns import (
    campaign_approve,
    campaign_create,
    campaign_preview_refresh,
    campaign_reject,
    campaign_stop,
    campaign_submit,
)
from .customer_request import (
    closure_code_notice_expired,
    closure_code_resend,
    closure_confirm,
    closure_effective_if_confirmed,
    closure_request_by_customer,
    closures_expire_unconfirmed,
    customer_closure_effective_at,
)
from .effect import closure_settle_on_zero_balance, closure_take_effect, closures_take_effect
from .proposals import (
    closure_approve,
    closure_propose,
    closure_reject,
    closure_withdraw,
    risk_signal_ingest,
)

__all__ = [
    "appeal_decide",
    "appeal_file",
    "appeal_take_up",
    "attachment_check",
    "campaign_approve",
    "campaign_create",
    "campaign_preview_refresh",
    "campaign_reject",
    "campaign_stop",
    "campaign_submit",
    "closure_alert_acknowledge",
    "closure_approve",
    "closure_code_notice_expired",
    "closure_code_resend",
    "closure_confirm",
    "closure_effective_if_confirmed",
    "closure_propose",
    "closure_reject",
    "closure_request_by_customer",
    "closure_settle_on_zero_balance",
    "closure_take_effect",
    "closure_withdraw",
    "closures_expire_unconfirmed",
    "closures_take_effect",
    "customer_closure_effective_at",
    "risk_signal_ingest",
]
