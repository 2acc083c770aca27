"""`manage.py sweep`: the periodic notice and SLA sweep, synchronously."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from backoffice.sweep import sweep_all


class Command(BaseCommand):
    help = "Run the periodic sweep now: stuck notices, then the complaint and closure clocks."

    def handle(self, *args, **options) -> None:
        results = sweep_all()
        for label, result in results.items():
            self.stdout.write(f"{label}: {result}")
        if any(isinstance(r, dict) and "error" in r for r in results.values()):
            raise SystemExit(1)
