"""Two workers racing for the same notice: exactly one sends it."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from backoffice.sweep import SWEEPS
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.services import notice_enqueue, notice_send
from tests.factories import CustomerFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_deliver_once():
    actor = UserFactory(username="system:tests")
    customer = CustomerFactory(preferred_language="en")
    (notice,) = notice_enqueue(
        event="test.hello",
        recipient=customer.user,
        context={"name": "A", "text": "t"},
        actor=actor,
        channels=("email",),
    )
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def run() -> None:
        try:
            barrier.wait()
            outcomes.append(notice_send(notice_id=notice.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("sent") == 1, outcomes
    assert len(mail.outbox) == 1
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 1
    assert Notice.objects.count() == 1


@pytest.mark.django_db
def test_sweep_command_prints_what_each_sweep_did(capsys):
    from django.core.management import call_command

    call_command("sweep")
    lines = capsys.readouterr().out.splitlines()
    assert (
        "notices: {'due': 0, 'unpublished': 0, 'published': 0, 'stale_unknown': 0, 'expired': 0}"
        in lines
    )
    # Every app's sweep ran, in the order of backoffice.sweep.SWEEPS, and none failed.
    assert [line.split(":")[0] for line in lines] == [label for label, _sweep in SWEEPS]
    assert {"notices", "complaints", "closures"} <= {label for label, _sweep in SWEEPS}
    assert not any("error" in line for line in lines)
