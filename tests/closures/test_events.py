"""The closure's case history: each step writes exactly its events with their typed fields, each
with a history row naming who and why; the admin shows them as before; the migration that
introduced the typed fields carried the old free text over."""

from __future__ import annotations

import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from accounts.enums import RepaymentChannel
from accounts.services import repayment_record
from closures import services
from closures.enums import ClosureEventKind as Kind
from closures.enums import ClosureStatus as S
from closures.models import ClosureEvent
from core.append_only import rewrite_exception
from tests.factories import CreditAccountFactory
from tests.factories.closures import account_with_balance, closed_by_risk

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
FIELDS = ("kind", "actor_id", "old_status", "new_status", "reason", "channel", "notice_event",
          "appeal_id")  # fmt: skip


def _events(closure) -> list[tuple]:
    return list(closure.events.order_by("at", "pk").values_list(*FIELDS))


def test_customer_request_writes_requested_then_code_sent(system_user):
    account = CreditAccountFactory()
    user = account.customer.user
    closure = services.closure_request_by_customer(
        actor=user, account_id=account.pk, channel="email"
    )
    why = "customer asked to close the account"
    assert _events(closure) == [
        (Kind.REQUESTED, user.pk, "", S.AWAITING_CONFIRMATION, why, "", "", None),
        (Kind.CODE_SENT, user.pk, "", "", "", "email", "", None),
    ]
    history = ClosureEvent.history.filter(closure_id=closure.pk).order_by("history_id")
    assert [(h.history_user_id, h.history_change_reason) for h in history] == [
        (user.pk, why),
        (user.pk, Kind.CODE_SENT),
    ]


def test_risk_closure_and_upheld_appeal_write_their_events(agent, reviewer, manager, system_user):
    account = CreditAccountFactory(overdue_count=4)
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    user = account.customer.user
    appeal = services.appeal_file(
        actor=user,
        closure_id=closure.pk,
        grounds="有误",
        attachment=SimpleUploadedFile("a.pdf", PDF),
    )
    services.appeal_take_up(actor=manager, appeal_id=appeal.pk)
    services.appeal_decide(
        actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="恢复", reason="error"
    )
    took = f"closure #{closure.pk} took effect"
    reversed_why = f"appeal {appeal.reference} upheld: error"
    assert _events(closure) == [
        (Kind.PROPOSED, agent.pk, "", S.PENDING_REVIEW, "overdue four times", "", "", None),
        (Kind.APPROVED, reviewer.pk, S.PENDING_REVIEW, S.APPROVED, "evidence is clear", "", "",
         None),
        (Kind.NOTICE_SENT, reviewer.pk, "", "", "", "", "closure.notice", None),
        (Kind.TOOK_EFFECT, system_user.pk, S.APPROVED, S.CLOSED, took, "", "", None),
        (Kind.CLOSED, system_user.pk, "", "", took, "", "", None),
        (Kind.APPEAL_FILED, user.pk, "", "", "", "", "", appeal.pk),
        (Kind.APPEAL_REVIEW, manager.pk, "", "", "", "", "", appeal.pk),
        (Kind.REVERSED, manager.pk, S.CLOSED, S.REVERSED, reversed_why, "", "", appeal.pk),
        (Kind.APPEAL_UPHELD, manager.pk, "", "", "error", "", "", appeal.pk),
    ]  # fmt: skip


def test_settling_a_closing_account_writes_took_effect_and_closed(agent, reviewer, system_user):
    account = account_with_balance(actor=system_user, balance=Decimal("50.00"))
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    assert closure.status == S.CLOSING
    repayment_record(
        actor=system_user,
        reason="t",
        account_id=account.pk,
        amount=Decimal("50.00"),
        channel=RepaymentChannel.BANK_CARD,
    )
    assert _events(closure)[-3:] == [
        (Kind.TOOK_EFFECT, system_user.pk, S.APPROVED, S.CLOSING,
         f"closure #{closure.pk} took effect", "", "", None),
        (Kind.TOOK_EFFECT, system_user.pk, S.CLOSING, S.CLOSED, "balance repaid while closing", "",
         "", None),
        (Kind.CLOSED, system_user.pk, "", "", f"closure #{closure.pk}", "", "", None),
    ]  # fmt: skip


def test_the_why_column_shows_what_each_event_names(system_user, agent, reviewer):
    account = CreditAccountFactory()
    closure = services.closure_request_by_customer(
        actor=account.customer.user, account_id=account.pk
    )
    code_sent = closure.events.get(kind=Kind.CODE_SENT)
    with translation.override("en"):
        assert code_sent.summary == "Text message"
    with translation.override("zh-hans"):  # the label in the reader's language, not the writer's
        assert code_sent.summary == "短信"
    risk = closed_by_risk(
        account=CreditAccountFactory(), proposer=agent, approver=reviewer, actor=system_user
    )
    with translation.override("en"):  # the notice by its label, not its code
        assert risk.events.get(kind=Kind.NOTICE_SENT).summary == "Closure notice"
    assert risk.events.get(kind=Kind.APPROVED).summary == "evidence is clear"


def test_the_migration_carried_the_old_text_over(agent, reviewer, system_user):
    """The data step of 0003, run on rows written the old way (free text in `reason`)."""
    migration = importlib.import_module("closures.migrations.0003_event_typed_fields")
    closure = closed_by_risk(
        account=CreditAccountFactory(), proposer=agent, approver=reviewer, actor=system_user
    )
    appeal = services.appeal_file(actor=closure.account.customer.user, closure_id=closure.pk,
                                  grounds="x")  # fmt: skip
    old_style = {
        "code_sent": "短信",
        "notice_sent": "closure.notice",
        "appeal_filed": appeal.reference,
        "appeal_dismissed": "overdue confirmed",
    }
    rows = {}
    for kind, text in old_style.items():
        row = ClosureEvent(closure=closure, kind=kind, actor=system_user, reason=text)
        row.save()
        rows[kind] = row
    # Event tables are append-only now: a data migration passes through the named exception.
    exception = rewrite_exception("migration", reason="test of 0003's data step", actor=system_user)
    with exception:
        migration.events_typed_forwards(apps, None)
    carried = {
        kind: ClosureEvent.objects.values_list(
            "reason", "channel", "notice_event", "appeal_id"
        ).get(pk=row.pk)
        for kind, row in rows.items()
    }
    assert carried == {
        "code_sent": ("", "sms", "", None),
        "notice_sent": ("", "", "closure.notice", None),
        "appeal_filed": ("", "", "", appeal.pk),
        "appeal_dismissed": ("overdue confirmed", "", "", appeal.pk),
    }
    with rewrite_exception("migration", reason="test of 0003 backwards", actor=system_user):
        migration.events_typed_backwards(apps, None)
    back = dict(ClosureEvent.objects.filter(pk__in=[r.pk for r in rows.values()]).values_list(
        "kind", "reason"))  # fmt: skip
    assert back == {**old_style, "code_sent": "Text message"}
