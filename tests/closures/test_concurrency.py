"""Approve and withdraw racing on one closure: exactly one wins."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closures import services
from closures.enums import ClosureStatus
from core.errors import ApplicationError
from tests.factories import CreditAccountFactory
from tests.factories.closures import proposed, staff


@pytest.mark.django_db(transaction=True)
def test_approve_and_withdraw_race_exactly_one_wins(settings):
    agent = staff("agent")
    reviewer = staff("reviewer")
    account = CreditAccountFactory()
    closure = proposed(account=account, proposer=agent)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def run(name, fn):
        try:
            barrier.wait()
            fn()
            outcomes[name] = "won"
        except ApplicationError as exc:
            outcomes[name] = exc.code
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(
                "approve",
                lambda: services.closure_approve(
                    actor=reviewer, closure_id=closure.pk, reason="ok"
                ),
            ),
        ),
        threading.Thread(
            target=run,
            args=(
                "withdraw",
                lambda: services.closure_withdraw(
                    actor=agent, closure_id=closure.pk, reason="second thoughts"
                ),
            ),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes.values()) == ["invalid_closure_transition", "won"]
    closure.refresh_from_db()
    winner = "approve" if outcomes["approve"] == "won" else "withdraw"
    assert closure.status == (
        ClosureStatus.APPROVED if winner == "approve" else ClosureStatus.WITHDRAWN
    )
    assert closure.events.filter(kind__in=["approved", "withdrawn"]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_proposals_race_one_open_closure(settings):
    agents = [staff("agent"), staff("agent")]
    account = CreditAccountFactory()
    barrier = threading.Barrier(2)
    outcomes = []

    def run(agent):
        try:
            barrier.wait()
            proposed(account=account, proposer=agent, signal=False)
            outcomes.append("won")
        except ApplicationError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["closure_exists", "won"]


def _locked_tables(queries) -> list[str]:
    locks = [q["sql"] for q in queries if " FOR " in q["sql"] and "UPDATE" in q["sql"]]
    assert all("FOR NO KEY UPDATE" in sql for sql in locks), locks  # no key column changes
    return [re.search(r'FROM "(\w+)"', sql).group(1) for sql in locks]


@pytest.mark.django_db
def test_locks_follow_the_global_order(system_user):
    """account -> closure -> appeal (closures/locks.py), whatever the entry point."""
    agent, reviewer, manager = staff("agent"), staff("reviewer"), staff("manager")
    account = CreditAccountFactory(overdue_count=4)
    closure = proposed(account=account, proposer=agent)
    with CaptureQueriesContext(connection) as approve:
        services.closure_approve(actor=reviewer, closure_id=closure.pk, reason="ok")
    assert _locked_tables(approve.captured_queries) == [
        "accounts_creditaccount",
        "closures_closurerequest",
    ]
    closure.refresh_from_db()
    services.closure_take_effect(actor=system_user, closure_id=closure.pk, now=closure.effective_at)
    appeal = services.appeal_file(actor=account.customer.user, closure_id=closure.pk, grounds="x")
    with CaptureQueriesContext(connection) as decide:
        services.appeal_decide(
            actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="x", reason="x"
        )
    assert _locked_tables(decide.captured_queries)[:3] == [
        "accounts_creditaccount",
        "closures_closurerequest",
        "closures_appeal",
    ]
