"""Approve and withdraw racing on one closure: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

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
