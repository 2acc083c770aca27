"""`manage.py verify_audit`: re-compute the seal chain of the activity trail; exit 1 naming the
first row or seal that was altered, removed or inserted out of order."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.models import ActivityEntry, AuditSeal
from core.seals import audit_verify


class Command(BaseCommand):
    help = "Check the seal chain of the activity trail (exit 1 on the first broken link)."

    def handle(self, *args, **options) -> None:
        broken = audit_verify()
        if broken is not None:
            raise CommandError(f"audit trail broken: {broken}", returncode=1)
        seals = AuditSeal.objects.count()
        sealed = sum(AuditSeal.objects.values_list("row_count", flat=True).iterator())
        self.stdout.write(
            f"audit trail intact: {seals} seals over {sealed} rows "
            f"({ActivityEntry.objects.count() - sealed} not sealed yet)"
        )
