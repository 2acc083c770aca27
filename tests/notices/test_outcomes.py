"""Outcomes that are not "sent": a real SMTP server (aiosmtpd) that takes the message and then
drops the connection or never answers leaves the notice `unknown` (never `failed`, never
resent by itself, never counted as delivery, one staff alert); a connection refused before
DATA is retried; the pooled connection is reused and closed on error; a batch whose connection
drops midway sends every message once; a notice past its `expires_at` is not sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import ApplicationError
from notices.backends.smtp import pool_close
from notices.enums import NoticeStatus
from notices.hooks import on_expired
from notices.models import Notice
from notices.selectors import notice_delivered_at, notice_outcome_blocks
from notices.services import (
    notice_confirm_delivered,
    notice_enqueue,
    notice_enqueue_many,
    notice_resend,
    notice_send,
    notices_send_batch,
    notices_sweep,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


class _Sink:
    """An SMTP server that stores every message it is given; `drop_after` lists the message
    numbers (1-based) after which it drops the connection instead of answering."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.connections = 0
        self.drop_after: set[int] = set()
        self.delay = 0.0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        if len(self.messages) in self.drop_after:
            server.transport.abort()  # taken, but the client never hears so
            return "250 OK"
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    from aiosmtpd.controller import Controller

    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_TIMEOUT = 2
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.NOTICES_SMTP_CONNECTIONS = 1  # one pooled connection; the threaded test sets 4
    pool_close()
    yield sink
    pool_close()
    controller.stop()


def _email(customer, actor, key: str = "", **kw) -> Notice:
    (notice,) = notice_enqueue(
        event="test.hello",
        recipient=customer.user,
        context={"name": "A", "text": "t"},
        actor=actor,
        channels=("email",),
        key=key,
        **kw,
    )
    return notice


def test_connection_dropped_after_data_is_unknown_alerted_once_and_never_delivery(
    smtp, customer, system_user, manager
):
    smtp.drop_after = {1}
    notice = _email(customer, system_user)
    assert notice_send(notice_id=notice.pk).status == "unknown"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.UNKNOWN and "Outcome unknown" in notice.last_error
    assert notice.history.first().history_change_reason == (
        "outcome unknown after the provider call"
    )
    assert smtp.message_ids() == [f"<notice-{notice.pk}@example.com>"]
    # One alert to the managers, naming the message id to look for.
    alerts = Notice.objects.filter(event="staff.notice_unknown", object_id=str(notice.pk))
    assert [a.recipient for a in alerts] == [manager]
    assert f"notice-{notice.pk}@" in alerts[0].body
    assert not Notice.objects.filter(event="staff.notice_failed").exists()
    # Never delivery, never sent again by the task, the sweep or a plain resend.
    assert notice_delivered_at(event="test.hello", obj=customer.user) is None
    assert notice_send(notice_id=notice.pk).status == "skipped:unknown"
    assert notices_sweep()["due"] == 0
    with pytest.raises(ApplicationError) as exc:
        notice_resend(notice_id=notice.pk, actor=manager, reason="again")
    assert exc.value.code == "notice_duplicate_risk"
    assert len(smtp.messages) == 1

    # Resent only with the risk accepted, and that is on the record.
    notice_resend(
        notice_id=notice.pk, actor=manager, reason="provider lost it", accept_duplicate_risk=True
    )
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PENDING
    assert "accepted the risk of a duplicate" in notice.history.first().history_change_reason
    smtp.drop_after = set()
    assert notice_send(notice_id=notice.pk).status == "sent"
    assert len(smtp.messages) == 2  # the duplicate the staff member accepted
    assert alerts.count() == 1


def test_timeout_after_submit_is_unknown_and_staff_can_confirm_delivery(
    smtp, customer, system_user, manager, settings
):
    settings.EMAIL_TIMEOUT = 1
    smtp.delay = 3  # the server takes the message and answers too late
    notice = _email(customer, system_user)
    assert notice_send(notice_id=notice.pk).status == "unknown"
    assert len(smtp.messages) == 1
    with pytest.raises(ApplicationError) as exc:
        notice_confirm_delivered(notice_id=notice.pk, actor=manager, reason="  ")
    assert exc.value.code == "reason_required"
    with pytest.raises(ApplicationError):
        notice_confirm_delivered(
            notice_id=notice.pk, actor=StaffFactory(role="auditor"), reason="x"
        )
    before = timezone.now()
    notice_confirm_delivered(
        notice_id=notice.pk, actor=manager, reason="provider log shows it delivered"
    )
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.sent_at >= before
    last = notice.history.first()
    assert last.history_user == manager
    assert last.history_change_reason == (
        "delivery confirmed by staff: provider log shows it delivered"
    )
    with pytest.raises(ApplicationError) as exc:
        notice_confirm_delivered(notice_id=notice.pk, actor=manager, reason="again")
    assert exc.value.code == "notice_not_unknown"


def test_refused_before_data_is_retried_not_unknown(settings, customer, system_user):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    pool_close()
    notice = _email(customer, system_user)
    outcome = notice_send(notice_id=notice.pk)
    assert outcome.status == "retry"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PENDING and notice.published_at is None
    assert "Connection refused" in notice.last_error or "Errno" in notice.last_error


def test_batch_reuses_one_connection_and_a_drop_midway_sends_nothing_twice(
    smtp, system_user, manager
):
    from tests.factories import CustomerFactory

    customers = [CustomerFactory(preferred_language="en") for _ in range(6)]
    notices = notice_enqueue_many(
        event="test.hello",
        recipients=[(c.user, {"name": f"N{i}", "text": "t"}) for i, c in enumerate(customers)],
        actor=system_user,
        channels=("email",),
    )
    ids = [n.pk for n in notices]
    assert notices_send_batch(notice_ids=ids[:2])["sent"] == 2
    assert smtp.connections == 1  # both over the pooled connection

    smtp.drop_after = {3}  # the third message overall: the first of the next batch
    result = notices_send_batch(notice_ids=ids[2:])
    assert result == {
        "sent": 3,
        "retry": 0,
        "failed": 0,
        "unknown": 1,
        "expired": 0,
        "skipped": 0,
    }
    assert smtp.connections == 2  # closed on the error, a new one for the rest
    statuses = dict(Notice.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[ids[2]] == NoticeStatus.UNKNOWN
    assert [statuses[i] for i in ids if i != ids[2]] == [NoticeStatus.SENT] * 5
    # Everything delivered again (a redelivered task, the sweep): nothing is sent twice.
    assert notices_send_batch(notice_ids=ids)["skipped"] == 6
    notices_sweep()
    assert sorted(smtp.message_ids()) == sorted(f"<notice-{i}@example.com>" for i in ids)
    # Each sent row has its history and trail rows, written set-based.
    sent = Notice.objects.get(pk=ids[0])
    assert [h.history_change_reason for h in sent.history.order_by("history_id")] == [
        "enqueued: test.hello",
        "sending, attempt 1",
        "sent",
    ]
    from core.models import ActivityEntry

    trail = ActivityEntry.objects.filter(object_type="notices.notice", object_id=str(ids[0]))
    assert sorted(trail.values_list("action", "reason")) == [
        ("notices.notice.create", "enqueued: test.hello"),
        ("notices.notice.update", "sending, attempt 1"),
        ("notices.notice.update", "sent"),
    ]


def test_a_batch_over_four_connections_sends_each_once_and_a_drop_loses_only_its_own(
    smtp, system_user, manager, settings
):
    from tests.factories import CustomerFactory

    settings.NOTICES_SMTP_CONNECTIONS = 4
    smtp.delay = 0.1  # each answer waits: the four connections are open at the same time
    customers = [CustomerFactory(preferred_language="en") for _ in range(12)]
    notices = notice_enqueue_many(
        event="test.hello",
        recipients=[(c.user, {"name": f"N{i}", "text": "t"}) for i, c in enumerate(customers)],
        actor=system_user,
        channels=("email",),
    )
    ids = [n.pk for n in notices]
    smtp.drop_after = {5}  # whichever thread carries the fifth message loses its answer
    started = time.monotonic()
    result = notices_send_batch(notice_ids=ids)
    elapsed = time.monotonic() - started
    assert result == {"sent": 11, "retry": 0, "failed": 0, "unknown": 1, "expired": 0, "skipped": 0}
    assert 4 <= smtp.connections <= 5  # one per thread, and one reopened after the drop
    assert elapsed < 12 * 0.1  # not one after the other
    assert sorted(smtp.message_ids()) == sorted(f"<notice-{i}@example.com>" for i in ids)
    statuses = list(Notice.objects.filter(pk__in=ids).values_list("status", flat=True))
    assert sorted(statuses) == sorted([NoticeStatus.SENT] * 11 + [NoticeStatus.UNKNOWN])
    # Redelivered or swept: nothing goes out twice.
    assert notices_send_batch(notice_ids=ids)["skipped"] == 12
    notices_sweep()
    assert len(smtp.message_ids()) == 12


def test_a_pooled_connection_closed_by_the_server_is_reopened_without_a_retry(
    smtp, customer, system_user
):
    first = _email(customer, system_user, key="1")
    assert notice_send(notice_id=first.pk).status == "sent"
    smtp_server_closes_idle = timezone.now()  # the server drops idle clients
    from notices.backends import smtp as pool

    pool._pool.backend.connection.sock.shutdown(socket.SHUT_RDWR)  # as if the server closed it
    second = _email(customer, system_user, key="2")
    assert notice_send(notice_id=second.pk).status == "sent"
    second.refresh_from_db()
    assert second.attempts == 1 and second.sent_at >= smtp_server_closes_idle
    assert len(smtp.messages) == 2 and smtp.connections == 2


def test_enqueue_many_is_set_based_and_at_most_once(system_user, django_assert_max_num_queries):
    from core.models import ActivityEntry
    from tests.factories import CustomerFactory

    few = [CustomerFactory(preferred_language="en") for _ in range(2)]
    many = [CustomerFactory(preferred_language="zh-hans") for _ in range(30)]
    counts = []
    for group, key in ((few, "a"), (many, "b")):
        with django_assert_max_num_queries(30) as captured:
            rows = notice_enqueue_many(
                event="test.hello",
                recipients=[(c.user, {"name": "N", "text": "t"}) for c in group],
                actor=system_user,
                key=key,
            )
        counts.append(len(captured.captured_queries))
        assert len(rows) == 3 * len(group)  # portal, email, sms each
    assert counts[0] == counts[1], counts  # does not grow with the recipients
    assert {n.language for n in rows} == {"zh-hans"}
    email_rows = [n for n in rows if n.channel == "email"]
    assert all(n.published_at is not None for n in email_rows)
    assert ActivityEntry.objects.filter(
        object_type="notices.notice", action="notices.notice.create"
    ).count() == 3 * (len(few) + len(many))
    again = notice_enqueue_many(
        event="test.hello",
        recipients=[(c.user, {"name": "N", "text": "t"}) for c in many],
        actor=system_user,
        key="b",
    )
    assert [n.pk for n in again] == [n.pk for n in rows]
    assert Notice.objects.count() == 3 * (len(few) + len(many))


def test_a_notice_unsent_at_its_expiry_is_not_sent_and_the_owner_is_told(
    smtp, customer, system_user
):
    seen: list[tuple[int, str]] = []

    def hook(notice, *, actor):
        seen.append((notice.pk, actor.username))

    on_expired["test.hello"].append(hook)
    try:
        soon = timezone.now() + timedelta(minutes=5)
        late = _email(customer, system_user, key="late", expires_at=timezone.now())
        later = _email(customer, system_user, key="later", expires_at=soon)
        assert notice_send(notice_id=late.pk).status == "expired"
        late.refresh_from_db()
        assert late.status == NoticeStatus.EXPIRED and "expired at" in late.last_error
        assert late.history.first().history_change_reason == "expired unsent"
        # The sweep expires the other once its time has passed, without sending it.
        assert notices_sweep(now=soon + timedelta(seconds=1))["expired"] == 1
        later.refresh_from_db()
        assert later.status == NoticeStatus.EXPIRED
        assert notice_send(notice_id=later.pk).status == "skipped:expired"
    finally:
        on_expired["test.hello"].remove(hook)
    assert seen == [(late.pk, "system:notices"), (later.pk, "system:notices-sweep")]
    assert smtp.messages == []
    # Before its expiry a notice is sent as usual.
    fine = _email(customer, system_user, key="fine", expires_at=soon)
    assert notice_send(notice_id=fine.pk).status == "sent"


def test_an_unknown_decision_notice_blocks_closing_until_staff_confirm(smtp, system_user, settings):
    from complaints import services
    from complaints.enums import Status
    from tests.factories.complaints import account_with_loans, decide_all, dispute, staff

    account, loans = account_with_loans(actor=system_user, amounts=("300.00",), fees="5.00")
    complaint = dispute(account=account, loans=loans)
    agent = staff("agent")
    services.complaint_assign(complaint_id=complaint.pk, assignee=agent, actor=agent, reason="take")
    decide_all(complaint, agent)
    decided = Notice.objects.filter(event="complaint.decided", object_id=str(complaint.pk))
    mail = decided.get(channel="email")
    smtp.drop_after = {1}
    assert notice_send(notice_id=mail.pk).status == "unknown"
    assert notice_outcome_blocks(obj=complaint, event="complaint.decided")
    with pytest.raises(ApplicationError) as exc:
        services.complaint_close(complaint_id=complaint.pk, actor=agent, reason="done")
    assert exc.value.code == "notice_outcome_unknown"

    manager = staff("manager")
    notice_confirm_delivered(notice_id=mail.pk, actor=manager, reason="provider log: delivered")
    assert not notice_outcome_blocks(obj=complaint, event="complaint.decided")
    services.complaint_close(complaint_id=complaint.pk, actor=agent, reason="done")
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED


def test_another_channel_delivered_lifts_the_block(customer, system_user):
    email_row, sms_row = notice_enqueue(
        event="test.hello",
        recipient=customer.user,
        context={"name": "A", "text": "t"},
        actor=system_user,
        obj=customer,
        channels=("email", "sms"),
    )
    Notice.objects.filter(pk=email_row.pk).update(status=NoticeStatus.UNKNOWN)
    assert notice_outcome_blocks(obj=customer, event="test.hello")
    assert notice_send(notice_id=sms_row.pk).status == "sent"  # the file SMS backend
    assert not notice_outcome_blocks(obj=customer, event="test.hello")
    assert not notice_outcome_blocks(obj=customer, event="test.other")


def test_an_sms_gateway_that_times_out_after_the_request_is_unknown(
    settings, customer, system_user
):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # takes the request, never answers
    settings.SMS_BACKEND = "notices.backends.sms.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/send"
    settings.SMS_GATEWAY_TIMEOUT = 0.5
    try:
        (sms,) = notice_enqueue(
            event="test.hello",
            recipient=customer.user,
            context={"name": "A", "text": "t"},
            actor=system_user,
            channels=("sms",),
        )
        assert notice_send(notice_id=sms.pk).status == "unknown"
    finally:
        listener.close()
    sms.refresh_from_db()
    assert sms.status == NoticeStatus.UNKNOWN and "did not answer in time" in sms.last_error
