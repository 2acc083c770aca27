"""The audit trail nobody can rewrite: database triggers refuse UPDATE and DELETE on history,
event and trail tables; the seal chain names the row that was altered, removed or inserted."""

from __future__ import annotations

import pgtrigger
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from accounts import services
from core.activity import activity_record
from core.append_only import rewrite_exception
from core.models import ActivityEntry, AuditSeal
from core.seals import _stored_rows, audit_seal, audit_verify
from tests.factories import CreditAccountFactory

PROTECTED_TABLES = [
    "accounts_historicalcreditaccount",
    "accounts_historicaluser",
    "complaints_historicalcomplaint",
    "complaints_caseevent",
    "closures_historicalclosurerequest",
    "closures_closureevent",
    "notices_historicalnotice",
    "core_activityentry",
    "core_auditseal",
]


def _frozen_account(system_user):
    account = CreditAccountFactory()
    services.account_freeze(actor=system_user, reason="fraud check", account_id=account.pk)
    return account


def _raw(sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rows_everywhere(system_user) -> None:
    """At least one row in every protected table (a DELETE of no row fires no trigger)."""
    from closures import services as closure_services
    from closures.enums import ClosureReason
    from complaints import services as complaint_services
    from complaints.enums import Category, Channel
    from tests.factories.complaints import account_with_loans, staff

    account, loans = account_with_loans(actor=system_user, amounts=("100.00",))
    complaint_services.complaint_submit(
        actor=account.customer.user,
        reason="portal",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="不是我借的",
        channel=Channel.PORTAL,
        account_id=account.pk,
        loan_record_ids=[loans[0].pk],
    )
    closure_services.closure_propose(
        actor=staff("agent"),
        reason="policy",
        account_id=account.pk,
        closure_reason=ClosureReason.POLICY_HIGH_RISK,
        explanation="高风险",
    )
    _frozen_account(system_user)
    AuditSeal.objects.create(
        last_xact=0, last_entry_id=0, row_count=0, row_digests=b"", previous_hash="0", hash="x"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("table", PROTECTED_TABLES)
def test_raw_update_and_delete_are_refused_by_the_database(table, system_user):
    _rows_everywhere(system_user)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
        before = cursor.fetchone()[0]
    assert before > 0, table
    with pytest.raises(DatabaseError):
        _raw(f"DELETE FROM {table}")  # noqa: S608
    key = "history_id" if "historical" in table else "id"
    with pytest.raises(DatabaseError):
        _raw(f"UPDATE {table} SET {key} = {key}")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608
        assert cursor.fetchone()[0] == before


@pytest.mark.django_db
def test_the_named_exception_lets_key_rotation_through_and_is_in_the_trail(system_user):
    account = _frozen_account(system_user)
    with pytest.raises(PermissionError), rewrite_exception("shell", reason="just this once"):
        pass
    with rewrite_exception("rotate_field_keys", reason="test", actor=system_user):
        _raw(
            "UPDATE accounts_historicalcreditaccount SET number = number WHERE id = %s",
            [account.pk],
        )
    assert ActivityEntry.objects.filter(
        action="audit.rewrite_exception", reason="rotate_field_keys: test"
    ).exists()
    with pytest.raises(DatabaseError):  # closed again after the block
        _raw("UPDATE accounts_historicalcreditaccount SET number = number")


@pytest.mark.django_db
def test_a_service_write_is_in_the_trail_with_what_changed(system_user):
    account = CreditAccountFactory()
    services.account_freeze(actor=system_user, reason="可疑交易", account_id=account.pk)
    entry = ActivityEntry.objects.filter(
        object_type="accounts.creditaccount", object_id=str(account.pk)
    ).latest("id")
    assert entry.action == "accounts.creditaccount.update"
    assert entry.actor_id == system_user.pk
    assert entry.reason == "可疑交易"
    assert entry.changes == {"status": ["active", "frozen"]}
    assert entry.xact is not None  # set by the insert trigger


@pytest.mark.django_db
def test_personal_data_is_masked_in_the_trail(system_user):
    customer = services.customer_create(
        actor=system_user,
        reason="onboarding",
        username="trail-user",
        password=None,
        name="张三",
        national_id="110105199001011234",
        phone="13812345678",
    )
    entry = ActivityEntry.objects.get(object_type="accounts.customer", object_id=str(customer.pk))
    assert entry.changes["phone"][1] == "138****5678"
    assert "110105199001011234" not in str(entry.changes)
    assert entry.changes["phone_index"] == [None, "[changed]"]


def _write_rows(system_user, n: int) -> list[ActivityEntry]:
    return [
        activity_record(actor=system_user, action="test.write", reason=f"row {i}") for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_the_chain_verifies_and_names_an_altered_row(system_user):
    rows = _write_rows(system_user, 5)
    assert audit_seal() >= 5
    assert audit_verify() is None
    call_command("verify_audit")  # exit 0
    with pgtrigger.ignore("core.ActivityEntry:append_only"):
        ActivityEntry.objects.filter(pk=rows[2].pk).update(reason="rewritten")
    broken = audit_verify()
    assert broken is not None and broken.what == "altered" and broken.entry_id == rows[2].pk
    with pytest.raises(CommandError, match=f"row {rows[2].pk}"):
        call_command("verify_audit")


@pytest.mark.django_db(transaction=True)
def test_the_chain_names_a_removed_row(system_user):
    rows = _write_rows(system_user, 4)
    audit_seal()
    with pgtrigger.ignore("core.ActivityEntry:append_only"):
        ActivityEntry.objects.filter(pk=rows[1].pk).delete()
    broken = audit_verify()
    assert broken is not None and broken.what == "removed" and broken.entry_id == rows[1].pk


@pytest.mark.django_db(transaction=True)
def test_the_chain_names_a_row_inserted_below_a_seal(system_user):
    rows = _write_rows(system_user, 3)
    audit_seal()
    old_xact = ActivityEntry.objects.get(pk=rows[0].pk).xact
    # A forged row slipped in with an old transaction id (triggers off, as a tamperer would).
    with pgtrigger.ignore("core.ActivityEntry:activity_xact"):
        forged = ActivityEntry.objects.create(action="test.forged", xact=old_xact)
    broken = audit_verify()
    assert broken is not None and broken.what == "inserted" and broken.entry_id == forged.pk


@pytest.mark.django_db(transaction=True)
def test_a_removed_seal_breaks_the_chain(system_user):
    _write_rows(system_user, 2)
    audit_seal(batch=1)
    assert AuditSeal.objects.count() >= 2
    first = AuditSeal.objects.order_by("pk").first()
    with pgtrigger.ignore("core.AuditSeal:append_only"):
        AuditSeal.objects.filter(pk=first.pk).delete()
    broken = audit_verify()
    assert broken is not None and broken.entry_id is None


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_running_transaction_are_not_sealed(system_user):
    """Sequence order is not commit order: a row written by a transaction still open when the
    sealer runs is left for the next seal, never skipped."""
    import threading

    started, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with transaction.atomic():
            activity_record(actor=None, action="test.slow")
            started.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    started.wait(10)
    later = activity_record(actor=system_user, action="test.fast")  # committed (autocommit)
    audit_seal()
    sealed_ids = {
        entry_id for seal in AuditSeal.objects.all() for entry_id, _d in _stored_rows(seal)
    }
    assert later.pk not in sealed_ids  # the slow transaction is older: nothing after it sealed
    release.set()
    thread.join()
    audit_seal()
    slow = ActivityEntry.objects.get(action="test.slow")
    assert audit_verify() is None
    sealed_ids = {
        entry_id for seal in AuditSeal.objects.all() for entry_id, _d in _stored_rows(seal)
    }
    assert {slow.pk, later.pk} <= sealed_ids
