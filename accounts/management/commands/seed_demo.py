"""`manage.py seed_demo [--customers N] [--loans-per-account M] [--seed S]`: the demo logins
(alice, bob, agent, reviewer, manager, risk, auditor) and N bulk customers. Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import DEMO_STAFF, demo_password, demo_seed


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Load the demo logins and bulk demo customers (idempotent; progress bar)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=_positive, default=200)
        parser.add_argument("--loans-per-account", type=_positive, default=3)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loans_per_account"] > 999:
            raise CommandError("--loans-per-account must be at most 999.")
        report = demo_seed(
            customers=options["customers"],
            loans_per_account=options["loans_per_account"],
            seed=options["seed"],
            progress=False if options["no_progress"] else None,
        )
        write = self.stdout.write
        if report.created_logins:
            write(self.style.SUCCESS("Created demo logins: " + ", ".join(report.created_logins)))
        write(f"  alice / {demo_password('alice')}, bob / {demo_password('bob')}")
        write("  staff: " + ", ".join(f"{u} / {demo_password(u)}" for u, _role in DEMO_STAFF))
        for line in report.otpauth_lines:
            write(f"  {line}")
        if report.existing_staff:
            write(
                "  Staff already present (TOTP secrets were printed when they were created; "
                "`manage.py create_staff USERNAME --role ROLE` issues a new one): "
                + ", ".join(report.existing_staff)
            )
        write(
            f"Bulk customers: {report.customers_created} created, "
            f"{report.customers_skipped} already present ({report.rows_written} rows written, "
            "history included)."
        )
        for walk, outcome in report.walks.items():
            write(f"Demo walk {walk}: {outcome}")
