"""notice_send: claim, deliver, record; retries, failure and the staff alert; resend; sweep."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from core.errors import ApplicationError
from notices.backends.sms import HttpGatewaySmsBackend, SmsBackend, SmsError
from notices.enums import NoticeStatus
from notices.models import Notice
from notices.services import (
    notice_enqueue,
    notice_resend,
    notice_send,
    notices_sweep,
    retry_delay,
)
from tests.factories import StaffFactory
from tests.notices.conftest import queued_notice_ids


class BrokenSms(SmsBackend):
    calls = 0

    def send(self, *, to: str, body: str, reference: str) -> str:
        type(self).calls += 1
        raise SmsError("gateway down")


def _one(customer, actor, channel, **kw):
    (notice,) = notice_enqueue(
        event="test.hello",
        recipient=customer.user,
        context={"name": "Ann", "text": "one"},
        actor=actor,
        channels=(channel,),
        **kw,
    )
    return notice


def test_email_is_sent_once_with_its_message_id_as_proof(customer, system_user):
    notice = _one(customer, system_user, "email")
    assert notice_send(notice_id=notice.pk).status == "sent"
    assert notice_send(notice_id=notice.pk).status == "skipped:sent"  # the task ran twice
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer.user.email]
    assert message.subject == "Hello Ann"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.attempts == 1
    assert notice.sent_at is not None
    assert notice.provider_message_id == message.extra_headers["Message-ID"]
    assert notice.provider_message_id.startswith(f"<notice-{notice.pk}@")
    reasons = list(
        notice.history.order_by("history_id").values_list("history_change_reason", flat=True)
    )
    assert reasons == ["enqueued: test.hello", "sending, attempt 1", "sent"]


def test_sms_goes_through_the_file_backend(customer, system_user, settings):
    notice = _one(customer, system_user, "sms")
    assert notice_send(notice_id=notice.pk).status == "sent"
    notice.refresh_from_db()
    files = list(Path(settings.SMS_FILE_PATH).glob("*.json"))
    assert len(files) == 1
    payload = json.loads(files[0].read_text())
    assert payload["to"] == customer.phone
    assert payload["body"] == "Line one\n"
    assert payload["id"] == notice.provider_message_id
    assert payload["reference"] == f"notice-{notice.pk}"


def test_sensitive_body_is_cleared_after_sending(customer, system_user, settings):
    notice = _one(customer, system_user, "sms", sensitive=True)
    assert notice.sealed_body
    notice_send(notice_id=notice.pk)
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.SENT and notice.sealed_body == ""


def test_a_notice_being_sent_is_not_claimed_again(customer, system_user):
    notice = _one(customer, system_user, "email")
    notice.status = NoticeStatus.SENDING
    notice.save()
    assert notice_send(notice_id=notice.pk).status == "skipped:sending"
    assert mail.outbox == []


def test_a_notice_not_yet_due_is_not_sent(customer, system_user):
    notice = _one(customer, system_user, "email")
    notice.next_attempt_at = timezone.now() + timedelta(hours=1)
    notice.save()
    outcome = notice_send(notice_id=notice.pk)
    assert outcome.status == "skipped:not_due" and mail.outbox == []


def test_failing_backend_is_retried_with_backoff_then_failed_with_a_staff_alert(
    customer, system_user, settings, manager
):
    settings.SMS_BACKEND = "tests.notices.test_send.BrokenSms"
    BrokenSms.calls = 0
    notice = _one(customer, system_user, "sms")
    delays = []
    for attempt in range(1, settings.NOTICES_MAX_ATTEMPTS):
        before = timezone.now()
        outcome = notice_send(notice_id=notice.pk)
        assert outcome.status == "retry", attempt
        notice.refresh_from_db()
        assert notice.status == NoticeStatus.PENDING and notice.attempts == attempt
        assert "gateway down" in notice.last_error
        delays.append((notice.next_attempt_at - before).total_seconds())
        notice.next_attempt_at = timezone.now()  # time passes
        notice.save()
    assert 45 <= delays[0] <= 75  # about a minute
    assert 0.8 * 12 * 3600 - 5 <= delays[-1] <= 1.2 * 12 * 3600  # up to about 12 hours
    assert all(later > earlier for earlier, later in zip(delays, delays[1:], strict=False))
    assert notice_send(notice_id=notice.pk).status == "failed"
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.FAILED and notice.attempts == 8
    assert BrokenSms.calls == 8
    (alert,) = Notice.objects.filter(event="staff.notice_failed")
    assert alert.recipient == manager and alert.channel == "email"
    assert str(notice.pk) in alert.subject and "gateway down" in alert.body
    # A failed notice stays failed: another run sends nothing.
    assert notice_send(notice_id=notice.pk).status == "skipped:failed"
    assert BrokenSms.calls == 8


def test_retry_delay_is_exponential_with_jitter():
    for attempt, nominal in [(1, 60), (2, 180), (4, 1620), (7, 43200)]:
        samples = [retry_delay(attempt).total_seconds() for _ in range(50)]
        assert all(0.79 * nominal <= s <= 1.21 * nominal * 1.01 for s in samples), attempt
        assert len(set(samples)) > 1  # jitter


def test_resend_puts_a_failed_notice_back_and_records_who(
    customer, system_user, manager, broker, django_capture_on_commit_callbacks
):
    notice = _one(customer, system_user, "email")
    notice.status = NoticeStatus.FAILED
    notice.attempts = 8
    notice.save()
    with pytest.raises(ApplicationError):
        notice_resend(notice_id=notice.pk, actor=StaffFactory(role="auditor"), reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        notice_resend(notice_id=notice.pk, actor=manager, reason="customer fixed their address")
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.PENDING and notice.attempts == 0
    last = notice.history.first()
    assert last.history_user == manager
    assert last.history_change_reason == "customer fixed their address"
    assert queued_notice_ids(broker) == [notice.pk]
    with pytest.raises(ApplicationError) as exc:
        notice_resend(notice_id=notice.pk, actor=manager, reason="again")
    assert exc.value.code == "notice_not_failed"
    assert notice_send(notice_id=notice.pk).status == "sent"


def test_sweeper_publishes_unpublished_at_once_lost_after_grace_and_stale_become_unknown(
    customer, system_user, manager, broker, settings
):
    now = timezone.now()
    lost = _one(customer, system_user, "email", key="lost")
    fresh = _one(customer, system_user, "email", key="fresh")
    unpublished = _one(customer, system_user, "email", key="unpublished")
    parked = _one(customer, system_user, "email", key="parked")
    stuck = _one(customer, system_user, "sms", key="stuck")
    assert fresh.published_at is not None  # published on commit (recorded with the insert)
    # Published ten minutes ago and never picked up (the broker lost the message).
    ten_ago = now - timedelta(minutes=10)
    Notice.objects.filter(pk=lost.pk).update(next_attempt_at=ten_ago, published_at=ten_ago)
    # The broker refused it at commit a second ago: no grace, published at once.
    Notice.objects.filter(pk=unpublished.pk).update(
        published_at=None, next_attempt_at=now - timedelta(seconds=1)
    )
    # A retry parked in the database, due in a minute: not yet.
    Notice.objects.filter(pk=parked.pk).update(
        published_at=None, next_attempt_at=now + timedelta(minutes=1)
    )
    Notice.objects.filter(pk=stuck.pk).update(
        status=NoticeStatus.SENDING, claimed_at=now - timedelta(hours=1), attempts=1
    )
    result = notices_sweep(now=now)
    assert result == {
        "due": 2,
        "unpublished": 1,
        "published": 2,
        "stale_unknown": 1,
        "expired": 0,
    }
    assert queued_notice_ids(broker) == sorted([lost.pk, unpublished.pk])
    for notice in (lost, unpublished):
        notice.refresh_from_db()
        assert notice.published_at >= now
    stuck.refresh_from_db()
    assert stuck.status == NoticeStatus.UNKNOWN and "outcome is unknown" in stuck.last_error
    alerts = Notice.objects.filter(event="staff.notice_unknown", object_id=str(stuck.pk))
    assert alerts.count() == 1
    assert not Notice.objects.filter(event="staff.notice_failed").exists()
    fresh.refresh_from_db()
    assert fresh.status == NoticeStatus.PENDING

    # The parked retry goes out with the first sweep after its time, not a grace later.
    broker.flushdb()
    result = notices_sweep(now=now + timedelta(minutes=1, seconds=1))
    assert result["unpublished"] == 1 and queued_notice_ids(broker) == [parked.pk]
    assert alerts.count() == 1  # one alert per unknown notice


class _Gateway(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).received.append(
            (self.headers["Authorization"], json.loads(self.rfile.read(length)))
        )
        body = json.dumps({"id": "gw-123"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_http_gateway_backend_posts_json_with_bearer_token(settings):
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{server.server_port}/send"
        settings.SMS_GATEWAY_TOKEN = "tok"
        _Gateway.received = []
        message_id = HttpGatewaySmsBackend().send(to="13800000000", body="hi", reference="r1")
    finally:
        server.shutdown()
    assert message_id == "gw-123"
    assert _Gateway.received == [
        ("Bearer tok", {"to": "13800000000", "body": "hi", "reference": "r1"})
    ]


def test_http_gateway_timeout_is_an_error(settings):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    settings.SMS_GATEWAY_URL = f"http://127.0.0.1:{listener.getsockname()[1]}/send"
    settings.SMS_GATEWAY_TIMEOUT = 0.5
    try:
        with pytest.raises(Exception) as exc:
            HttpGatewaySmsBackend().send(to="1", body="b", reference="r")
        assert (
            "timed out" in str(exc.value).lower() or "timeout" in type(exc.value).__name__.lower()
        )
    finally:
        listener.close()
