"""Notices end to end: N notices enqueued (one transaction each, as domain services do), sent by
a real Celery worker over a real broker to an SMTP sink (aiosmtpd), in a scratch database.
Prints notices per second with the settings used.

    python -m bench notices [--notices 2000] [--concurrency 2] [--pool prefork]
                            [--broker redis://127.0.0.1:6379/3]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from django.core.management import call_command

from bench import django_setup, free_port, load_average, scratch_database

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_SECOND = 100  # what one small worker host should sustain


class _CountingSink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.count += 1
        return "250 OK"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench notices")
    parser.add_argument("--notices", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    parser.add_argument(
        "--broker",
        default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/3"),
        help="a Redis or RabbitMQ URL (default: BENCH_BROKER_URL or redis db 3)",
    )
    parser.add_argument("--timeout", type=float, default=600.0)
    return parser.parse_args(argv)


def _worker_start(args: argparse.Namespace, *, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`celery -A backoffice worker` on the scratch database; returns once it is ready."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "backoffice", "worker",
         f"--pool={args.pool}", f"--concurrency={args.concurrency}", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            os.killpg(worker.pid, signal.SIGTERM)
            raise SystemExit(f"worker did not start:\n{log.read_text()[-2000:]}")
        time.sleep(0.2)
    return worker


def _enqueue_and_wait(args: argparse.Namespace) -> tuple[int, float, float]:
    """Enqueue the notices (one transaction each), wait until the worker sent them all or the
    timeout passed; (sent, seconds to enqueue, seconds end to end)."""
    # Imported once Django is set up on the scratch database.
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from core.audit import system_actor
    from notices.models import Notice
    from notices.services import notice_enqueue

    actor = system_actor("bench")
    recipient, _ = get_user_model().objects.get_or_create(
        username="bench-recipient", defaults={"email": "bench@example.com", "is_staff": True}
    )
    run = str(int(time.time()))
    started = time.perf_counter()
    for i in range(args.notices):
        with transaction.atomic():
            notice_enqueue(
                event="staff.alert",
                recipient=recipient,
                context={"title": f"Bench {i}", "text": "Benchmark notice."},
                actor=actor,
                channels=("email",),
                key=f"{run}-{i}",
            )
    enqueued = time.perf_counter() - started
    deadline = time.monotonic() + args.timeout
    sent = 0
    while time.monotonic() < deadline:
        sent = Notice.objects.filter(status="sent").count()
        if sent >= args.notices:
            break
        time.sleep(0.2)
    return sent, enqueued, time.perf_counter() - started


def _report(args: argparse.Namespace, *, sent: int, enqueued: float, elapsed: float, sink) -> None:
    rate = sent / elapsed
    print(
        f"notices: {sent}/{args.notices} sent end to end in {elapsed:.1f} s "
        f"(enqueue alone {enqueued:.1f} s, {args.notices / enqueued:,.0f}/s); "
        f"SMTP sink received {sink.count}"
    )
    print(
        f"notices: settings: worker pool={args.pool} concurrency={args.concurrency}, "
        f"broker={args.broker}, PostgreSQL scratch database, aiosmtpd sink on localhost, "
        f"one transaction per notice, load average {load_average()}"
    )
    print(
        f"notices: {rate:,.0f} notices/s end to end; target {TARGET_PER_SECOND}/s; "
        f"ratio {rate / TARGET_PER_SECOND:.2f}"
    )


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    os.environ["CELERY_BROKER_URL"] = args.broker
    sink = _CountingSink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with (
            scratch_database("bench_notices") as database_url,
            tempfile.TemporaryDirectory() as tmp,
        ):
            django_setup()
            call_command("migrate", verbosity=0)
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
                "VAR_DIR": tmp,
                "LOG_LEVEL": "WARNING",
            }
            worker = _worker_start(args, env=env, log=Path(tmp) / "worker.log")
            try:
                sent, enqueued, elapsed = _enqueue_and_wait(args)
            finally:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
    finally:
        smtp.stop()
    _report(args, sent=sent, enqueued=enqueued, elapsed=elapsed, sink=sink)


if __name__ == "__main__":
    main()
