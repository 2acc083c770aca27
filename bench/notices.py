"""Notices end to end: N emails enqueued in batches of recipients (`notice_enqueue_many`, one
transaction per batch, as a bulk service does), published on commit in batches of ids, sent by
two worker processes (prefork, concurrency 2) on Redis, each over its pooled SMTP connection,
to a loopback SMTP sink (aiosmtpd, in its own process), in a scratch database. Prints emails
per second from the first enqueue to the last recorded `sent`, the phases, what limits it if
it falls short of the target, and the at-most-once check (duplicate Message-IDs at the sink).

    python -m bench notices [--notices 5000] [--batch 500] [--concurrency 2] [--pool prefork]
                            [--send-batch 50] [--broker redis://127.0.0.1:6379/3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.core.management import call_command

from bench import cpu_seconds, django_setup, free_port, load_average, scratch_database

ROOT = Path(__file__).resolve().parent.parent
TARGET_PER_SECOND = 500  # PRODUCT.md "Performance": notices >= 500 emails/s end to end


def _sink_main(port: int, count, duplicates, ready) -> None:
    """The SMTP sink's process: counts messages and duplicate Message-IDs."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    seen: set[bytes] = set()

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
            head = envelope.content.split(b"\r\n\r\n", 1)[0]
            message_id = next(
                (line for line in head.split(b"\r\n") if line.lower().startswith(b"message-id:")),
                b"",
            )
            if message_id in seen:
                duplicates.value += 1
            seen.add(message_id)
            count.value += 1
            return "250 OK"

    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    signal.sigwait({signal.SIGTERM})
    controller.stop()


class SinkProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.count = multiprocessing.Value("i", 0, lock=False)
        self.duplicates = multiprocessing.Value("i", 0, lock=False)
        ready = multiprocessing.Event()
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})  # the child waits for it
        self.proc = multiprocessing.Process(
            target=_sink_main, args=(self.port, self.count, self.duplicates, ready), daemon=True
        )
        self.proc.start()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        if not ready.wait(30):
            raise SystemExit("the SMTP sink did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(10)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench notices")
    parser.add_argument("--notices", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=500, help="recipients per enqueue")
    parser.add_argument("--send-batch", type=int, default=50, help="ids per send task")
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


def _recipients(count: int) -> list:
    """`count` staff users with an email address (set-based; not timed)."""
    from django.contrib.auth import get_user_model

    users = get_user_model()
    users.objects.bulk_create(
        [
            users(username=f"bench-{i}", email=f"bench-{i}@example.com", is_staff=True)
            for i in range(count)
        ],
        batch_size=2000,
    )
    return list(users.objects.filter(username__startswith="bench-").order_by("pk"))


def _backend_pids() -> set[int]:
    """The PostgreSQL backends serving the scratch database (the bench's and the workers')."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {row[0] for row in cursor.fetchall()}


def _cpu(worker_group: int, sink_pid: int, backends: set[int]) -> dict[str, float]:
    return {
        "workers": cpu_seconds(group=worker_group),
        "sink": cpu_seconds(pids={sink_pid}),
        "postgres": cpu_seconds(pids=backends),
        "bench": sum(os.times()[:2]),
    }


def _enqueue_and_wait(
    args: argparse.Namespace, *, worker_group: int, sink_pid: int
) -> dict[str, float]:
    """Enqueue the notices in batches of recipients, wait until the workers sent them all or
    the timeout passed; the phases' figures, and the CPU each part used per email."""
    # Imported once Django is set up on the scratch database.
    from django.db import transaction
    from django.db.models import Max, Min

    from core.audit import system_actor
    from notices.models import Notice
    from notices.services import notice_enqueue_many

    actor = system_actor("bench")
    recipients = _recipients(args.notices)
    backends = _backend_pids()
    cpu_before = _cpu(worker_group, sink_pid, backends)
    started_wall = time.time()
    started = time.perf_counter()
    for start in range(0, len(recipients), args.batch):
        chunk = recipients[start : start + args.batch]
        with transaction.atomic():
            notice_enqueue_many(
                event="staff.alert",
                recipients=[(u, {"title": f"Bench {u.pk}", "text": "Benchmark."}) for u in chunk],
                actor=actor,
                channels=("email",),
            )
    enqueued = time.perf_counter() - started
    deadline = time.monotonic() + args.timeout
    sent = 0
    while time.monotonic() < deadline:
        sent = Notice.objects.filter(status="sent").count()
        if sent >= args.notices:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    backends |= _backend_pids()  # the workers' connections, opened after the start
    cpu_after = _cpu(worker_group, sink_pid, backends)
    span = Notice.objects.filter(status="sent").aggregate(first=Min("sent_at"), last=Max("sent_at"))
    sending = (
        (span["last"] - span["first"]).total_seconds() if span["first"] and span["last"] else 0.0
    )
    first_sent_after = span["first"].timestamp() - started_wall if span["first"] else 0.0
    return {
        "sent": sent,
        "enqueued": enqueued,
        "elapsed": elapsed,
        "sending": sending,
        "first_sent_after": first_sent_after,
        "not_sent": Notice.objects.exclude(status="sent").count(),
        **{
            f"cpu_{part}": (cpu_after[part] - cpu_before[part]) / max(sent, 1) for part in cpu_after
        },
    }


def _limits(args: argparse.Namespace, figures: dict[str, float], rate: float) -> str:
    """What holds the end-to-end rate back, from the phases."""
    enqueue_rate = args.notices / figures["enqueued"]
    send_rate = figures["sent"] / figures["sending"] if figures["sending"] else 0.0
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    reasons = []
    if enqueue_rate < TARGET_PER_SECOND * 1.5:
        reasons.append(f"enqueue ({enqueue_rate:,.0f}/s: render, INSERT, history and trail rows)")
    if send_rate < TARGET_PER_SECOND * 1.2:
        reasons.append(
            f"sending ({send_rate:,.0f}/s over {args.concurrency} worker processes: "
            "MIME build + SMTP round trips per message, claim/record per batch)"
        )
    if load > cores:
        reasons.append(
            f"a shared machine: load average {load:.1f} on {cores} core(s), so the bench, "
            "PostgreSQL, Redis, the sink and the workers compete for CPU"
        )
    if rate >= TARGET_PER_SECOND:
        return "target met"
    return "short of the target; limited by " + ("; ".join(reasons) or "unknown")


def _report(args: argparse.Namespace, figures: dict[str, float], sink: SinkProcess) -> None:
    sent, elapsed, enqueued = figures["sent"], figures["elapsed"], figures["enqueued"]
    rate = sent / elapsed
    send_rate = sent / figures["sending"] if figures["sending"] else 0.0
    print(
        f"notices: {sent}/{args.notices} sent end to end in {elapsed:.1f} s "
        f"(enqueue alone {enqueued:.1f} s, {args.notices / enqueued:,.0f}/s; first sent after "
        f"{figures['first_sent_after']:.1f} s; sending {send_rate:,.0f}/s); "
        f"SMTP sink received {sink.count.value}, duplicate Message-IDs {sink.duplicates.value}"
    )
    print(
        f"notices: settings: worker pool={args.pool} concurrency={args.concurrency}, "
        f"broker={args.broker}, PostgreSQL scratch database, aiosmtpd sink (own process) on "
        f"localhost, {args.batch} recipients per enqueue, {args.send_batch} ids per send task, "
        f"pooled SMTP connection per worker process, load average {load_average()}"
    )
    print(
        f"notices: {rate:,.0f} emails/s end to end; target {TARGET_PER_SECOND}/s; "
        f"ratio {rate / TARGET_PER_SECOND:.2f}; {_limits(args, figures, rate)}"
    )
    parts = ("bench", "workers", "postgres", "sink")
    total = sum(figures[f"cpu_{part}"] for part in parts)
    cores = os.cpu_count() or 1
    print(
        "notices: CPU per email: "
        + ", ".join(f"{part} {1000 * figures[f'cpu_{part}']:.2f} ms" for part in parts)
        + f" (bench = enqueue and polling; sink = the loopback SMTP server); total "
        f"{1000 * total:.2f} ms, so at most {cores / total:,.0f} emails/s on {cores} cores "
        "if nothing else ran"
    )
    if sink.duplicates.value or sink.count.value != sent:
        print(
            f"notices: AT-MOST-ONCE CHECK: sink {sink.count.value}, recorded sent {sent}, "
            f"duplicates {sink.duplicates.value}"
        )


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    os.environ["CELERY_BROKER_URL"] = args.broker
    os.environ["NOTICES_SEND_BATCH"] = str(args.send_batch)
    sink = SinkProcess()
    try:
        with (
            scratch_database("bench_notices") as database_url,
            tempfile.TemporaryDirectory() as tmp,
        ):
            django_setup()
            call_command("migrate", verbosity=0)
            import redis

            if args.broker.startswith("redis"):
                redis.Redis.from_url(args.broker).delete("celery")  # no stale tasks
            env = {
                **os.environ,
                "DATABASE_URL": database_url,
                "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
                "VAR_DIR": tmp,
                "LOG_LEVEL": "WARNING",
            }
            worker = _worker_start(args, env=env, log=Path(tmp) / "worker.log")
            try:
                figures = _enqueue_and_wait(args, worker_group=worker.pid, sink_pid=sink.proc.pid)
            finally:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=30)
    finally:
        time.sleep(0.2)
        sink.stop()
    _report(args, figures, sink)


if __name__ == "__main__":
    main()
