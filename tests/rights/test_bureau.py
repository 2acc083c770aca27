"""The credit bureau hears (issue 12 item 6): objection marks at intake, outcomes and
corrections at decision, through the bureau backend with the outbox's at-most-once discipline;
an objection not settled by day 20 escalates with where its messages stand.

The file backend writes real files under a temporary folder; the HTTP backend talks to a real
local HTTP server. Nothing of ours is mocked."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from accounts.bureau.enums import BureauMessage, BureauStatus, ObjectionOutcome
from accounts.bureau.services import (
    _claim,
    bureau_sweep,
    submission_resend,
    submission_send,
)
from accounts.enums import CorrectionKind, CorrectionStatus
from accounts.models import BureauSubmission, CreditReportCorrection, User
from complaints import services
from complaints.enums import ItemOutcome
from complaints.sweeps import complaints_sweep
from core.errors import ApplicationError
from notices.models import Notice
from tests.factories.complaints import (
    account_with_loans,
    change_reasons,
    decide_all,
    dispute,
    staff,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def bureau_dir(tmp_path, settings):
    settings.CREDIT_BUREAU_BACKEND = "accounts.bureau.backends.FileBureauBackend"
    settings.CREDIT_BUREAU_FILE_PATH = str(tmp_path / "bureau")
    return tmp_path / "bureau"


def _files(folder) -> list[dict]:
    if not folder.exists():
        return []
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    ]


def _objection(loan) -> CreditReportCorrection:
    return CreditReportCorrection.objects.get(loan=loan, kind=CorrectionKind.OBJECTION)


def _history(sub: BureauSubmission) -> list[tuple[str, str]]:
    return list(
        sub.history.order_by("history_id").values_list(
            "history_user__username", "history_change_reason"
        )
    )


def _send_pending() -> list[str]:
    ids = BureauSubmission.objects.filter(status=BureauStatus.PENDING).order_by("pk")
    return [submission_send(submission_id=pk).status for pk in ids.values_list("pk", flat=True)]


def test_walk_objection_file_appears_and_is_settled_within_the_clock(system_user, bureau_dir):
    account, loans = account_with_loans(actor=system_user, amounts=("300.00",))
    customer = account.customer.user
    c = dispute(account=account, loans=loans)
    objection = _objection(loans[0])
    mark = BureauSubmission.objects.get(correction=objection)
    # Written in the intake's transaction, by the customer, with the intake's reason.
    assert (mark.message, mark.status, objection.status) == (
        BureauMessage.OBJECTION_MARK,
        BureauStatus.PENDING,
        CorrectionStatus.OPEN,
    )
    assert _history(mark) == [(customer.username, "customer dispute")]
    assert mark.payload["loan"]["reference"] == loans[0].reference
    assert _files(bureau_dir) == []

    assert submission_send(submission_id=mark.pk).status == "acknowledged"
    mark.refresh_from_db()
    objection.refresh_from_db()
    (written,) = _files(bureau_dir)
    path = bureau_dir / f"bureau-{mark.pk}.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert written["reference"] == f"bureau-{mark.pk}"
    assert written["message"]["type"] == "objection_mark"
    assert written["message"]["account"] == account.number
    assert mark.status == BureauStatus.ACKNOWLEDGED
    assert mark.bureau_reference == written["bureau_reference"]
    assert mark.sent_at is not None and mark.acknowledged_at >= mark.sent_at
    assert objection.status == CorrectionStatus.SENT
    worker = "system:credit-bureau"
    assert _history(mark)[1:] == [
        (worker, "sending, attempt 1"),
        (worker, f"acknowledged by the bureau ({mark.bureau_reference})"),
    ]
    assert change_reasons(objection)[-1] == (
        f"objection mark acknowledged by the bureau ({mark.bureau_reference})"
    )
    # A task delivered twice sends once.
    assert submission_send(submission_id=mark.pk).status == "skipped:acknowledged"
    assert len(_files(bureau_dir)) == 1

    # The decision: the outcome and the correction are queued; the objection is settled
    # only when the bureau acknowledged the outcome.
    agent = staff("agent")
    decide_all(c, agent, outcome=ItemOutcome.UPHELD)
    objection.refresh_from_db()
    assert objection.status == CorrectionStatus.SENT and objection.settled_at is None
    outcome = BureauSubmission.objects.get(
        correction=objection, message=BureauMessage.OBJECTION_OUTCOME
    )
    assert (outcome.outcome, outcome.status) == (ObjectionOutcome.UPHELD, BureauStatus.PENDING)
    assert _history(outcome) == [(agent.username, "decided")]
    correction = CreditReportCorrection.objects.get(loan=loans[0], kind=CorrectionKind.CORRECTION)
    assert correction.bureau_submissions.get().message == BureauMessage.CORRECTION

    assert _send_pending() == ["acknowledged", "acknowledged"]
    objection.refresh_from_db()
    correction.refresh_from_db()
    outcome.refresh_from_db()
    assert objection.status == CorrectionStatus.SETTLED
    assert objection.settled_at == outcome.acknowledged_at <= objection.due_at
    assert correction.status == CorrectionStatus.SETTLED
    files = {f["message"]["type"]: f for f in _files(bureau_dir)}
    assert sorted(files) == ["correction", "objection_mark", "objection_outcome"]
    assert files["objection_outcome"]["message"]["outcome"] == "upheld"
    assert files["objection_outcome"]["bureau_reference"] == outcome.bureau_reference
    # Settled within the clock: day 21 escalates nothing.
    assert complaints_sweep(now=objection.due_at + timedelta(days=1))["objections"] == 0


def test_decided_before_the_mark_left_cancels_it_and_settles_at_once(system_user, bureau_dir):
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    objection = _objection(loans[0])
    agent = staff("agent")
    decide_all(c, agent, outcome=ItemOutcome.REJECTED)
    objection.refresh_from_db()
    mark = objection.bureau_submissions.get()
    assert (mark.status, objection.status) == (BureauStatus.CANCELLED, CorrectionStatus.SETTLED)
    assert _history(mark)[-1] == (agent.username, "decided")
    assert submission_send(submission_id=mark.pk).status == "skipped:cancelled"
    assert _files(bureau_dir) == []


def test_withdrawal_after_the_mark_was_sent_tells_the_bureau(system_user, bureau_dir):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    objection = _objection(loans[0])
    assert _send_pending() == ["acknowledged"]
    customer = account.customer.user
    services.complaint_withdraw(complaint_id=c.pk, actor=customer, reason="changed my mind")
    objection.refresh_from_db()
    assert objection.status == CorrectionStatus.SENT  # until the bureau has the withdrawal
    withdrawal = objection.bureau_submissions.get(message=BureauMessage.OBJECTION_OUTCOME)
    assert withdrawal.outcome == ObjectionOutcome.WITHDRAWN
    assert _history(withdrawal) == [(customer.username, "changed my mind")]
    assert _send_pending() == ["acknowledged"]
    objection.refresh_from_db()
    assert objection.status == CorrectionStatus.WITHDRAWN
    assert [f["message"]["outcome"] for f in _files(bureau_dir)] == ["", "withdrawn"]


def test_outcome_waits_for_its_mark(system_user, bureau_dir):
    account, loans = account_with_loans(actor=system_user)
    c = dispute(account=account, loans=loans)
    objection = _objection(loans[0])
    mark = objection.bureau_submissions.get()
    assert isinstance(_claim(submission_id=mark.pk, actor=system_user), BureauSubmission)
    decide_all(c, staff("agent"), outcome=ItemOutcome.REJECTED)  # the mark is being sent
    outcome = objection.bureau_submissions.get(message=BureauMessage.OBJECTION_OUTCOME)
    result = submission_send(submission_id=outcome.pk)
    assert result.status == "skipped:mark_first" and result.retry_at is not None
    outcome.refresh_from_db()
    assert outcome.status == BureauStatus.PENDING and outcome.attempts == 0


def test_lost_worker_leaves_unknown_never_resent_blindly(system_user, bureau_dir, settings):
    account, loans = account_with_loans(actor=system_user)
    dispute(account=account, loans=loans)
    manager = staff("manager")
    mark = _objection(loans[0]).bureau_submissions.get()
    _claim(submission_id=mark.pk, actor=system_user)  # ... and the worker dies here
    later = timezone.now() + settings.CREDIT_BUREAU_SENDING_LEASE + timedelta(minutes=1)
    assert bureau_sweep(now=later)["unknown"] == 1
    assert bureau_sweep(now=later)["unknown"] == 0
    mark.refresh_from_db()
    assert mark.status == BureauStatus.UNKNOWN and "not sent again" in mark.last_error
    alert = Notice.objects.get(event="staff.bureau_problem", recipient=manager)
    assert f"bureau-{mark.pk}" in alert.subject
    assert submission_send(submission_id=mark.pk).status == "skipped:unknown"
    assert _files(bureau_dir) == []
    with pytest.raises(ApplicationError) as exc:
        submission_resend(submission_id=mark.pk, actor=manager, reason="checked with the bureau")
    assert exc.value.code == "duplicate_risk"
    submission_resend(
        submission_id=mark.pk,
        actor=manager,
        reason="the bureau has no such message",
        confirm_duplicate=True,
    )
    mark.refresh_from_db()
    assert mark.status == BureauStatus.PENDING
    assert _history(mark)[-1] == (manager.username, "the bureau has no such message")
    assert submission_send(submission_id=mark.pk).status == "acknowledged"
    assert len(_files(bureau_dir)) == 1
    with pytest.raises(ApplicationError) as exc:
        submission_resend(submission_id=mark.pk, actor=manager, reason="again")
    assert exc.value.code == "invalid_state"


class _Bureau(BaseHTTPRequestHandler):
    behaviour = "ok"
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((dict(self.headers), body))
        if self.behaviour == "slow":
            time.sleep(1.5)
        if self.behaviour == "down":
            self.send_response(503)
            self.end_headers()
            return
        answer = json.dumps({"reference": f"HTTP-{body['reference']}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_bureau(settings):
    _Bureau.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bureau)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.CREDIT_BUREAU_BACKEND = "accounts.bureau.backends.HttpBureauBackend"
    settings.CREDIT_BUREAU_URL = f"http://127.0.0.1:{server.server_port}/submissions"
    settings.CREDIT_BUREAU_TOKEN = "bureau-token"
    settings.CREDIT_BUREAU_TIMEOUT = 0.5
    yield _Bureau
    server.shutdown()
    server.server_close()


def test_http_backend_reads_the_reference_retries_and_knows_when_it_cannot_know(
    system_user, http_bureau, settings
):
    account, loans = account_with_loans(actor=system_user, amounts=("10.00", "20.00", "30.00"))
    dispute(account=account, loans=loans)
    marks = [_objection(loan).bureau_submissions.get() for loan in loans]

    assert submission_send(submission_id=marks[0].pk).status == "acknowledged"
    marks[0].refresh_from_db()
    headers, body = http_bureau.seen[-1]
    assert headers["Authorization"] == "Bearer bureau-token"
    assert headers["Idempotency-Key"] == body["reference"] == f"bureau-{marks[0].pk}"
    assert marks[0].bureau_reference == f"HTTP-bureau-{marks[0].pk}"

    http_bureau.behaviour = "down"  # 503: certainly not taken, retried with backoff
    result = submission_send(submission_id=marks[1].pk)
    marks[1].refresh_from_db()
    assert result.status == "retry" and marks[1].status == BureauStatus.PENDING
    assert marks[1].next_attempt_at > timezone.now() and marks[1].attempts == 1
    settings.CREDIT_BUREAU_MAX_ATTEMPTS = 2
    marks[1].next_attempt_at = timezone.now()
    marks[1].save(update_fields=["next_attempt_at"])
    assert submission_send(submission_id=marks[1].pk).status == "failed"

    http_bureau.behaviour = "slow"  # the request went out, no answer in time: unknown
    assert submission_send(submission_id=marks[2].pk).status == "unknown"
    marks[2].refresh_from_db()
    assert marks[2].status == BureauStatus.UNKNOWN and marks[2].sent_at is not None
    assert _objection(loans[2]).status == CorrectionStatus.OPEN


def test_unsettled_by_day_20_escalates_with_the_bureau_state(system_user, bureau_dir, settings):
    account, loans = account_with_loans(actor=system_user, authorized=True)
    c = dispute(account=account, loans=loans)
    manager = staff("manager")
    assert _send_pending() == ["acknowledged"]
    decide_all(c, staff("agent"), outcome=ItemOutcome.REJECTED)
    # The outcome cannot reach the bureau: it fails after its tries.
    settings.CREDIT_BUREAU_BACKEND = "accounts.bureau.backends.HttpBureauBackend"
    settings.CREDIT_BUREAU_URL = "http://127.0.0.1:9/closed"
    settings.CREDIT_BUREAU_MAX_ATTEMPTS = 1
    assert _send_pending() == ["failed"]
    objection = _objection(loans[0])
    assert objection.status == CorrectionStatus.SENT  # decided, but the bureau never heard
    assert Notice.objects.filter(event="staff.bureau_problem", recipient=manager).exists()
    assert complaints_sweep(now=objection.due_at - timedelta(hours=1))["objections"] == 0
    assert complaints_sweep(now=objection.due_at + timedelta(hours=1))["objections"] == 1
    complaints_sweep(now=objection.due_at + timedelta(hours=2))
    alert = Notice.objects.get(  # once (the outbox's key)
        event="staff.objection_overdue", recipient=manager
    )
    assert "objection_mark acknowledged (CRB-" in alert.body
    assert "objection_outcome failed" in alert.body
    # The system user of the sweep is the one recorded.
    assert User.objects.filter(username="system:credit-bureau").exists()
