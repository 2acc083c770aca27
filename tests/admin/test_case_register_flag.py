"""A loan the lending core booked against the partner-interface register (or on an account that
was not lending) carries the feed's flag as evidence on the case page (issue 15)."""

from __future__ import annotations

import pytest

from accounts.models import LoanRecord
from tests.factories.complaints import account_with_loans, dispute

pytestmark = pytest.mark.django_db


def test_the_feeds_flags_show_as_evidence_on_the_case_page(staff_client, system_user):
    client, _agent, _device = staff_client("agent")
    account, loans = account_with_loans(actor=system_user, amounts=("6000.00", "199.00"))
    # The feed's columns, as accounts/services/ingest.py writes them when it books the loan.
    LoanRecord.objects.filter(pk=loans[0].pk).update(register_violation="interface_suspended")
    LoanRecord.objects.filter(pk=loans[1].pk).update(booked_while_not_lending=True)
    complaint = dispute(account=account, loans=loans)
    client.cookies["django_language"] = "en"
    page = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/").content.decode()
    assert 'data-testid="register-violation"' in page
    assert "Booked through a suspended partner interface" in page
    assert 'data-testid="booked-not-lending"' in page
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/").content.decode()
    assert "已暂停的合作方接口" in page


def test_an_unflagged_loan_shows_no_feed_flag(staff_client, system_user):
    client, _agent, _device = staff_client("agent")
    account, loans = account_with_loans(actor=system_user, amounts=("88.00",))
    complaint = dispute(account=account, loans=loans)
    page = client.get(f"/admin/complaints/complaint/{complaint.pk}/change/").content.decode()
    assert 'data-testid="register-violation"' not in page
    assert 'data-testid="booked-not-lending"' not in page
