"""Portal template tags of closures, for pages other apps render (the account page is accounts'):

    {% load closures_portal %}
    {% pending_closure account as pending %}
    {% if pending %}… {{ pending.closure.effective_at }} … {% if pending.can_withdraw %}…{% endif %}

A read only (one query through the closures selectors); writes stay in the services."""

from __future__ import annotations

from typing import Any

from django import template

from ..enums import APPEALABLE_STATUSES, ClosureReason, ClosureStatus
from ..selectors import closure_open_for_account

register = template.Library()

# Not yet in effect: the customer's code awaited, or approved and waiting for its date.
PENDING_STATUSES = (ClosureStatus.AWAITING_CONFIRMATION, ClosureStatus.APPROVED)


@register.simple_tag
def pending_closure(account) -> dict[str, Any] | None:
    """The account's closure that has not taken effect yet, with what the customer may do:
    withdraw their own request (until it takes effect) or appeal a staff closure."""
    closure = closure_open_for_account(account_id=account.pk)
    if closure is None or closure.status not in PENDING_STATUSES:
        return None
    own = closure.reason == ClosureReason.CUSTOMER_REQUEST
    return {
        "closure": closure,
        "own": own,
        "awaiting_code": closure.status == ClosureStatus.AWAITING_CONFIRMATION,
        "can_withdraw": own,
        "can_appeal": not own and closure.status in APPEALABLE_STATUSES,
    }
