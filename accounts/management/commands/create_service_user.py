"""`manage.py create_service_user NAME --permission {risk,core}`

Creates or updates a service user (no password, no portal, no admin) holding the permission,
revokes its previous API tokens and prints exactly one line: its new token (shown only here;
the database keeps a digest). Run it again to rotate the token.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.staff import SERVICE_PERMISSIONS, service_user_upsert
from core.audit import system_actor
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create or update a service user and print a new API token (the old one is revoked)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--permission", required=True, choices=sorted(SERVICE_PERMISSIONS))
        parser.add_argument("--reason", default="manage.py create_service_user")

    def handle(self, *args, **options) -> None:
        try:
            _user, token = service_user_upsert(
                actor=system_actor("create_service_user"),
                reason=options["reason"],
                username=options["username"],
                permission=options["permission"],
            )
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(token)
