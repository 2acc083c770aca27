"""`closures.campaign_run` on a real Celery worker: approving a campaign publishes its run to a
real broker (Redis, TEST_REDIS_URL) on commit; a worker process picks it up, writes one closure
per account of the segment, and the closure notices go into the outbox and are published to the
broker in their turn. Slow: starts its own worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from accounts.enums import Language, LoanKind
from closures import services
from closures.enums import CampaignStatus, ClosureStatus
from closures.models import ClosureRequest
from notices.models import Notice
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory
from tests.factories.closures import staff

pytestmark = [pytest.mark.slow, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def broker(redis_url, monkeypatch):
    """This test's process publishes to the real Redis (Celery reads CELERY_BROKER_URL from the
    environment first); the database is emptied before and after."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)
    yield client
    client.flushdb()


@pytest.fixture
def worker(transactional_db, redis_url, broker, tmp_path):
    """`celery -A backoffice worker` on the test database and broker (mail and SMS into files
    under tmp_path); killed at the end of the test."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "CELERY_BROKER_URL": redis_url,
        "DATABASE_URL": _database_url(),
        "VAR_DIR": str(tmp_path / "var"),
        "CONN_MAX_AGE": "0",
    }
    for folder in ("mail", "sms"):
        (tmp_path / "var" / folder).mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    yield log
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_for(predicate, *, log: Path, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


def test_an_approved_campaign_runs_on_a_real_worker_and_queues_its_notices(worker):
    manager, reviewer = staff("manager"), staff("reviewer")
    accounts = []
    for language in (Language.ZH_HANS, Language.EN, Language.ZH_HANS):
        account = CreditAccountFactory(customer=CustomerFactory(preferred_language=language))
        LoanRecordFactory(account=account, kind=LoanKind.CASH)
        accounts.append(account)
    untouched = CreditAccountFactory()
    LoanRecordFactory(account=untouched, kind=LoanKind.PURCHASE)
    campaign = services.campaign_create(
        actor=manager,
        reason="retire the cash product",
        title="现金产品下线",
        closure_reason="product_change",
        segment={"loan_kind": "cash"},
        explanation_zh="因产品调整，我们将停止提供该信用账户服务。",
        explanation_en="We are retiring this credit product, so this account will be closed.",
    )
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    # Nothing runs it in this process: the approval publishes `closures.campaign_run` on commit.
    services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="checked")

    def done():
        campaign.refresh_from_db()
        return campaign.status == CampaignStatus.DONE

    _wait_for(done, log=worker, what="the campaign's run")
    assert "closures.campaign_run" in worker.read_text()
    assert campaign.proposed_count == campaign.notified_count == 3
    assert campaign.batches == 1 and campaign.finished_at is not None
    closures = ClosureRequest.objects.filter(campaign=campaign)
    assert sorted(closures.values_list("account_id", flat=True)) == sorted(a.pk for a in accounts)
    assert set(closures.values_list("status", flat=True)) == {ClosureStatus.APPROVED}
    assert not ClosureRequest.objects.filter(account=untouched).exists()

    # Each closure's notice: the portal copy written at once, the email and SMS handed to the
    # broker (published) for the send tasks, which the same worker then runs.
    notices = Notice.objects.filter(
        event="closure.notice",
        object_id__in=[str(pk) for pk in closures.values_list("pk", flat=True)],
    )
    assert notices.filter(channel="portal", status="sent").count() == 3
    queued = notices.exclude(channel="portal")
    assert queued.count() >= 3
    _wait_for(
        lambda: not queued.filter(published_at__isnull=True, status="pending").exists(),
        log=worker,
        what="the notices' publication",
    )
    _wait_for(
        lambda: queued.filter(status="sent").count() == queued.count(),
        log=worker,
        what="the notices sent by the worker",
    )
    # Rendered in each customer's language: two Chinese subjects alike, one English.
    subjects = list(notices.filter(channel="portal").values_list("subject", flat=True))
    assert len(subjects) == 3 and len(set(subjects)) == 2
