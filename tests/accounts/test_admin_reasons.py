"""The accounts admin's reason actions (freeze / unfreeze): a reason up to 1,000 characters is
stored whole in the history; one character more is a field error on the page, never a 500 and
never a change."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from accounts.enums import AccountStatus
from accounts.models import CreditAccount
from core.audit import REASON_MAX_LENGTH
from tests.factories import CreditAccountFactory

pytestmark = pytest.mark.django_db

URL = "/admin/accounts/creditaccount/"


def _confirm(client, action: str, account: CreditAccount, reason: str):
    return client.post(
        URL,
        {
            "action": action,
            "select_across": "0",
            ACTION_CHECKBOX_NAME: [account.pk],
            "reason_confirmed": "1",
            "reason": reason,
        },
    )


@pytest.mark.parametrize("length", [150, REASON_MAX_LENGTH])
def test_a_long_reason_is_stored_whole(staff_client, length):
    client, agent, _device = staff_client("agent")
    account = CreditAccountFactory()
    reason = ("冻结原因" * 300)[:length]
    response = _confirm(client, "freeze_accounts", account, reason)
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.status == AccountStatus.FROZEN
    record = account.history.latest()
    assert (record.history_user, record.history_change_reason) == (agent, reason)
    response = _confirm(client, "unfreeze_accounts", account, reason)
    assert response.status_code == 302
    assert account.history.latest().history_change_reason == reason


def test_a_reason_over_the_cap_is_a_field_error(staff_client):
    client, _agent, _device = staff_client("agent")
    account = CreditAccountFactory()
    before = account.history.count()
    response = _confirm(client, "freeze_accounts", account, "x" * (REASON_MAX_LENGTH + 1))
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert account.history.count() == before
