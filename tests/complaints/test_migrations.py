"""complaints 0004/0005: the case events written with `old`/`new` strings are carried over to
the typed fields (base rows and their history rows), and the migration can be reversed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from complaints.models import CaseEvent, VerificationRequest
from tests.factories.complaints import (
    account_with_loans,
    case_events,
    dispute,
    event,
    last_event_pk,
    staff,
)

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("complaints", "0003_history_reason_text")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def _latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _cases(*, agent, other, loan, due15, due30, review) -> tuple[list[tuple[tuple, dict]], dict]:
    """What the old code wrote, event by event (type, old, new, text, customer_visible), and
    the typed event it must become (all by `agent`, the second value)."""
    return [
        (
            ("assigned", "", agent.username, "", False),
            event("assigned", visible=False, assignee=agent.pk),
        ),
        (
            ("assigned", "received", "investigating", "", True),
            event("assigned", visible=True, from_status="received", to_status="investigating"),
        ),
        (
            ("assigned", agent.username, other.username, "", False),
            event("assigned", visible=False, assignee=other.pk, previous_assignee=agent.pk),
        ),
        (
            ("extended", due15.isoformat(), due30.isoformat(), "更多时间", True),
            event("extended", visible=True, text="更多时间", previous_due_at=due15, due_at=due30),
        ),
        (
            ("paused", "", "appraisal", "等待鉴定", True),
            event("paused", visible=True, text="等待鉴定", pause_reason="appraisal"),
        ),
        (
            ("reminder", "", due30.isoformat(), "", False),
            event("reminder", visible=False, due_at=due30),
        ),
        (
            ("drafted", "", "upheld", "d", False),
            event("drafted", visible=False, text="d", outcome="upheld"),
        ),
        (
            ("submitted", "investigating", "pending_approval", "", False),
            event(
                "submitted",
                visible=False,
                from_status="investigating",
                to_status="pending_approval",
            ),
        ),
        (
            ("loan_reversed", "disputed", "reversed", loan.reference, True),
            event(
                "loan_reversed",
                visible=True,
                loan=loan.pk,
                loan_from_status="disputed",
                loan_to_status="reversed",
            ),
        ),
        (
            ("decided", "pending_approval", "upheld", "决定", True),
            event(
                "decided",
                visible=True,
                text="决定",
                from_status="pending_approval",
                to_status="decided",
                outcome="upheld",
            ),
        ),
        (
            ("review_decided", "under_review", "dismissed", "维持", True),
            event(
                "review_decided",
                visible=True,
                text="维持",
                from_status="under_review",
                to_status="decided",
                review=review.pk,
            ),
        ),
        (
            ("closed", "investigating", "withdrawn", "Withdrawn by the customer", True),
            event(
                "withdrawn",
                visible=True,
                text="Withdrawn by the customer",
                from_status="investigating",
                to_status="withdrawn",
            ),
        ),
    ], {"actor": agent.pk}


def _write_old_rows(apps, complaint, actor, rows) -> None:
    """Write the rows as the old code did: the event and its history row, at state 0003."""
    event_model = apps.get_model("complaints", "CaseEvent")
    history_model = apps.get_model("complaints", "HistoricalCaseEvent")
    now = timezone.now()
    for type_, old, new, text, visible in rows:
        fields = {
            "complaint_id": complaint.pk,
            "type": type_,
            "actor_id": actor.pk,
            "old": old,
            "new": new,
            "text": text,
            "customer_visible": visible,
            "at": now,
        }
        row = event_model.objects.create(**fields)
        history_model.objects.create(
            id=row.pk, history_date=now, history_type="+", history_user_id=actor.pk, **fields
        )


def test_old_new_strings_become_typed_fields(system_user):
    account, loans = account_with_loans(actor=system_user)
    loan = loans[0]
    c = dispute(account=account, loans=loans)
    agent, other = staff("agent"), staff("agent")
    now = timezone.now()
    review = VerificationRequest.objects.create(
        complaint=c, grounds="不服", status="decided", received_at=now, due_at=now
    )
    due15, due30 = c.due_at, c.due_at + timedelta(days=15)
    cases, by_agent = _cases(
        agent=agent, other=other, loan=loan, due15=due15, due30=due30, review=review
    )
    written_by_intake = case_events(c)
    mark = last_event_pk(c)
    try:
        apps = _migrate(BEFORE)
        # The intake's events went back to strings (0004's reverse) ...
        event_model = apps.get_model("complaints", "CaseEvent")
        received = event_model.objects.get(complaint_id=c.pk, type="received")
        assert (received.old, received.new) == ("", "received")
        disputed = event_model.objects.get(complaint_id=c.pk, type="loan_disputed")
        assert (disputed.old, disputed.new, disputed.text) == ("posted", "disputed", loan.reference)
        _write_old_rows(apps, c, agent, [old for old, _typed in cases])
    finally:
        _migrate(_latest())
    # ... and came back as they were written; the old rows got their typed fields.
    assert case_events(c)[: len(written_by_intake)] == written_by_intake
    assert case_events(c, after=mark) == [{**typed, **by_agent} for _old, typed in cases]
    # The history rows, which repeat the events, were carried over the same way.
    history = CaseEvent.history.filter(id__gt=mark).order_by("id")
    assert [(h.type, h.from_status, h.to_status, h.loan_id, h.due_at) for h in history] == [
        (e.type, e.from_status, e.to_status, e.loan_id, e.due_at)
        for e in CaseEvent.objects.filter(complaint=c, pk__gt=mark).order_by("pk")
    ]
