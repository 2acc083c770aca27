"""`manage.py seal_audit`: seal the activity trail now (the beat task does it every minute)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from core.seals import audit_seal


class Command(BaseCommand):
    help = "Seal every activity row whose transaction has finished."

    def handle(self, *args, **options) -> None:
        self.stdout.write(f"sealed {audit_seal()} rows")
