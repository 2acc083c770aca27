"""`manage.py run_risk_scan`: the periodic risk scan, synchronously, with a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from tqdm import tqdm

from closures.risk_scan import DEFAULT_BATCH_SIZE, risk_scan_run
from core.audit import system_actor


class Command(BaseCommand):
    help = "Propose overdue closures for accounts at or over the overdue threshold."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args, **options) -> None:
        bar = tqdm(total=0, unit="account", disable=options["verbosity"] == 0)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        result = risk_scan_run(
            actor=system_actor("risk-scan"), batch_size=options["batch_size"], progress=progress
        )
        bar.close()
        self.stdout.write(
            f"risk scan: {result.candidates} accounts over the threshold, "
            f"{result.proposed} closures proposed in {result.batches} batch(es)"
        )
