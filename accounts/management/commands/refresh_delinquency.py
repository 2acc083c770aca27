"""`manage.py refresh_delinquency [--incremental]`: recompute the overdue figures from the
repayment schedules, set-based (accounts/delinquency.py), with a progress bar."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand
from tqdm import tqdm

from accounts.delinquency import DEFAULT_BATCH_SIZE, delinquency_refresh


class Command(BaseCommand):
    help = "Recompute every account's overdue figures from the repayment schedules."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="only the accounts that may have changed since the last finished run",
        )
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options) -> None:
        bar = tqdm(
            total=0,
            unit="account",
            disable=options["no_progress"] or options["verbosity"] == 0,
        )

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        started = time.monotonic()
        result = delinquency_refresh(
            incremental=options["incremental"],
            batch_size=options["batch_size"],
            progress=progress,
        )
        bar.close()
        mode = "incremental" if result.incremental else "full"
        self.stdout.write(
            f"refresh_delinquency ({mode}): {result.accounts} accounts in {result.batches} "
            f"batch(es), {result.changed} rows written, {time.monotonic() - started:.1f} s"
        )
