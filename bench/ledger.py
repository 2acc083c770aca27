"""Ledger-feed benchmark: `python -m bench ledger --lines 200000 [--chunk-size 5000] [--workers 2]`.

Writes a JSON-lines file as the lending core's nightly batch would send it (per customer: the
customer with their account, two loans - an installment loan of three months with its schedule
and authorization event, a purchase - and three repayments, one of them beyond what is owed), in
a scratch database imports it with `manage.py import_ledger`'s code (the same ingestion service
as the API), and prints items/s (one item = one line, with all the rows it writes: history,
trail, schedules, allocations, balances, overdue figures) and the process's RSS over time (flat
memory: the same at 200k and at 5M lines; with `--workers`, each worker's too) and the CPU
per item (Python of the import and its workers, every PostgreSQL backend of the database).
Target (issue 15): >= 10,000 items/s.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench import django_setup, load_average, scratch_database

TARGET_ITEMS_PER_SECOND = 10_000
LINES_PER_CUSTOMER = 6


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _children_rss_mb() -> list[float]:
    """The RSS of this process's children (the import's workers), from /proc."""
    sizes = []
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me and "VmRSS" in fields:
            sizes.append(int(fields["VmRSS"].split()[0]) / 1024)
    return sizes


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (the PostgreSQL backend), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def _backends_cpu(seen: dict[int, float]) -> None:
    """Record the CPU seconds so far of every backend of this database (the workers' too)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        for (pid,) in cursor.fetchall():
            seen[pid] = max(seen.get(pid, 0.0), _cpu_seconds(pid))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_file(path: Path, lines: int, start: int = 0) -> int:
    """The batch file (customers start + 1...); returns the number of lines written."""
    from django.utils import timezone

    from accounts.demo import national_id_with_check

    now = timezone.now()
    written = 0
    with path.open("w", encoding="utf-8") as out:
        i = start
        while written < lines:
            i += 1
            number = f"66{i:014d}"
            opened = now - timedelta(days=200 + i % 300)
            taken = opened + timedelta(days=10)
            records = [
                {"type": "customer", "reference": f"BC{i:09d}", "name": f"客户{i}",
                 "national_id": national_id_with_check(f"4403051980{i:07d}"),
                 "phone": f"13{i:09d}", "preferred_language": "zh-hans",
                 "updated_at": opened.isoformat(),
                 "account": {"number": number, "credit_limit": "20000.00",
                             "interest_free_days": 30, "opened_at": opened.isoformat()}},
                {"type": "loan", "reference": f"BL{i:09d}1", "account": number,
                 "amount": "3000.00", "fees": "30.00", "kind": "installment",
                 "merchant": "京东自营", "channel": "app", "partner_interface": "",
                 "created_at": taken.isoformat(),
                 "schedule": [{"due_on": (taken + timedelta(days=30 * k)).date().isoformat(),
                               "amount": "1000.00"} for k in (1, 2, 3)],
                 "authorization": {"method": "sms_code", "channel": "app",
                                   "device_id": f"dev-{i:08x}", "ip": "116.228.35.17",
                                   "consent_reference": f"CS{i:09d}",
                                   "at": (taken - timedelta(seconds=20)).isoformat(),
                                   "outcome": "success"}},
                {"type": "loan", "reference": f"BL{i:09d}2", "account": number,
                 "amount": "450.00", "kind": "purchase", "merchant": "美团外卖",
                 "channel": "web", "created_at": (taken + timedelta(days=5)).isoformat()},
                {"type": "repayment", "reference": f"BR{i:09d}1", "account": number,
                 "amount": "1000.00", "paid_at": (taken + timedelta(days=29)).isoformat(),
                 "loan": f"BL{i:09d}1"},
                {"type": "repayment", "reference": f"BR{i:09d}2", "account": number,
                 "amount": "450.00", "paid_at": (taken + timedelta(days=33)).isoformat()},
                {"type": "repayment", "reference": f"BR{i:09d}3", "account": number,
                 "amount": "2100.00", "paid_at": (taken + timedelta(days=60)).isoformat()},
            ]  # fmt: skip
            for record in records[: lines - written]:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                written += 1
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench ledger")
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="import_ledger --workers")
    parser.add_argument("--dir", default=None, help="where the generated file goes")
    args = parser.parse_args(argv)
    # The managers' alerts of flagged items go to a broker that needs no server.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    # As in production: with DEBUG on, Django keeps the text of the last 9,000 queries (the
    # bulk statements' arrays with them), which costs CPU and grows the RSS.
    os.environ.setdefault("DEBUG", "false")
    with scratch_database("bench_ledger"), tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        django_setup()
        from django.core.management import call_command

        from accounts.management.commands.import_ledger import import_file
        from accounts.models import CreditAccount, Installment, LoanRecord, Repayment
        from core.models import ActivityEntry

        call_command("migrate", verbosity=0)
        path = Path(tmp) / "ledger.jsonl"
        started = time.perf_counter()
        lines = write_file(path, args.lines)
        print(
            f"file: {lines:,} lines, {path.stat().st_size / 2**20:,.0f} MB, written in "
            f"{time.perf_counter() - started:.0f} s; RSS {_rss_mb():.0f} MB",
            flush=True,
        )
        backends: dict[int, float] = {}
        _backends_cpu(backends)
        backends_before = dict(backends)
        cpu_before, children_before = time.process_time(), _children_cpu()
        started = time.perf_counter()
        samples: list[str] = []
        every = max(1, lines // args.chunk_size // 10)
        chunks = 0

        def on_chunk(run) -> None:
            nonlocal chunks
            chunks += 1
            _backends_cpu(backends)
            if chunks % every == 0:
                elapsed = time.perf_counter() - started
                samples.append(
                    f"{run.lines:>10,} lines {elapsed:7.0f} s {run.lines / elapsed:8,.0f}/s "
                    f"RSS {_rss_mb():5.0f} MB"
                    + "".join(f", worker {mb:.0f} MB" for mb in _children_rss_mb())
                )
                print("  " + samples[-1], flush=True)

        run = import_file(
            path, chunk_size=args.chunk_size, progress=False, on_chunk=on_chunk,
            workers=args.workers,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        rate = run.lines / elapsed
        cpu_python = time.process_time() - cpu_before + _children_cpu() - children_before
        cpu_backend = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends.items())
        per_item = (cpu_python + cpu_backend) / run.lines * 1e6
        rows = {
            "accounts": CreditAccount.objects.count(),
            "loans": LoanRecord.objects.count(),
            "installments": Installment.objects.count(),
            "repayments": Repayment.objects.count(),
            "trail": ActivityEntry.objects.count(),
        }
        print(
            f"import: {run.lines:,} lines ({run.accepted:,} accepted, {run.refused:,} refused) in "
            f"{elapsed:.1f} s: {rate:,.0f} items/s; target {TARGET_ITEMS_PER_SECOND:,}/s, ratio "
            f"{rate / TARGET_ITEMS_PER_SECOND:.2f}; peak RSS {_peak_mb():.0f} MB; rows "
            + ", ".join(f"{k} {v:,}" for k, v in rows.items())
            + f"; cpus {os.cpu_count()}, load {load_average()}",
            flush=True,
        )
        print(
            f"CPU per item: {per_item:,.0f} µs (Python {cpu_python / run.lines * 1e6:,.0f}, "
            f"PostgreSQL backends {cpu_backend / run.lines * 1e6:,.0f}; {args.workers} "
            f"worker(s)), i.e. "
            f"{1e6 / per_item:,.0f} items/s per busy core (independent of the machine's load)",
            flush=True,
        )


if __name__ == "__main__":
    main()
