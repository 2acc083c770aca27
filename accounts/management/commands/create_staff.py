"""`manage.py create_staff USERNAME --role ROLE [--password P] [--email E]`

Creates or updates a staff member with a new confirmed TOTP device and prints exactly one line:
the device's `otpauth://totp/...secret=BASE32...` URL (the only place the secret is shown).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.staff import STAFF_ROLES, staff_upsert
from core.audit import system_actor
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create or update a staff member with a role and a new TOTP device."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=STAFF_ROLES)
        parser.add_argument("--password", default=None)
        parser.add_argument("--email", default=None)

    def handle(self, *args, **options) -> None:
        try:
            _user, device = staff_upsert(
                actor=system_actor("create_staff"),
                reason="manage.py create_staff",
                username=options["username"],
                role=options["role"],
                password=options["password"],
                email=options["email"],
            )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(device.config_url)
