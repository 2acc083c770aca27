"""`manage.py rotate_field_keys`: re-encrypt every encrypted value, in the base AND the historical
tables, under the newest key of FIELD_ENCRYPTION_KEYS. After it finishes, the old keys can be
dropped from the setting.

Why raw SQL instead of the services and `save_with_history()`: rotation is not a domain change.
The plaintext stays the same, so it must not add history rows (which would bury the real ones)
nor fire save signals; and the historical tables are immutable records that no ORM write path
updates, yet their tokens must move to the new key too. Each batch is one short transaction
that rewrites only the ciphertext column, keyed by primary key.
"""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from tqdm import tqdm

from core import crypto
from core.append_only import rewrite_exception
from core.audit import system_actor


def encrypted_columns() -> list[tuple[str, str, list[str]]]:
    """(table, pk column, [encrypted columns]) for every model, historical ones included."""
    found = []
    for model in apps.get_models():
        columns = [
            f.column
            for f in model._meta.concrete_fields
            if isinstance(f, crypto.EncryptedTextField)
        ]
        if columns and not model._meta.proxy and model._meta.managed:
            found.append((model._meta.db_table, model._meta.pk.column, columns))
    return sorted(found)


class Command(BaseCommand):
    help = "Re-encrypt all encrypted columns (base and history) under the newest field key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        newest = Fernet(settings.FIELD_ENCRYPTION_KEYS[0].strip().encode())
        batch_size = max(1, options["batch_size"])
        total_rotated = 0
        # History tables are append-only in the database: re-encrypting their ciphertext (same
        # plaintext, newer key) is the one named, logged exception (core/append_only.py).
        with rewrite_exception(
            "rotate_field_keys",
            reason="re-encrypt personal data under the newest field key",
            actor=system_actor("rotate-field-keys"),
        ):
            total_rotated = self._rotate_all(newest, batch_size, options)
        self.stdout.write(self.style.SUCCESS(f"Done: {total_rotated} rows re-encrypted."))

    def _rotate_all(self, newest: Fernet, batch_size: int, options: dict[str, Any]) -> int:
        qn = connection.ops.quote_name
        total_rotated = 0
        for table, pk, columns in encrypted_columns():
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {qn(table)}")  # noqa: S608 - names from models
                (count,) = cursor.fetchone()
            bar = tqdm(
                total=count,
                desc=table,
                unit="row",
                disable=True if options["no_progress"] else None,
            )
            select_sql = (
                f"SELECT {qn(pk)}, {', '.join(qn(c) for c in columns)} FROM {qn(table)} "  # noqa: S608
                f"WHERE {qn(pk)} > %s ORDER BY {qn(pk)} LIMIT %s"
            )
            last = None
            rotated = 0
            while True:
                with transaction.atomic(), connection.cursor() as cursor:
                    # Keyset paging; FOR UPDATE keeps a concurrent write from being overwritten
                    # with an older token between our read and our update.
                    cursor.execute(
                        select_sql + " FOR UPDATE",
                        [last if last is not None else -1, batch_size],
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    pending: dict[tuple[str, ...], list[list[str]]] = {}
                    for row in rows:
                        updates = {}
                        for column, token in zip(columns, row[1:], strict=True):
                            if not token or self._under(newest, token):
                                continue
                            updates[column] = crypto.rotate_token(token)
                        if updates:
                            pending.setdefault(tuple(updates), []).append(
                                [*updates.values(), row[0]]
                            )
                    for changed, params in pending.items():
                        assignments = ", ".join(f"{qn(c)} = %s" for c in changed)
                        # The driver's own cursor: the SELECT above already set the trigger
                        # exception for this transaction (pgtrigger cannot prefix executemany).
                        cursor.cursor.executemany(
                            f"UPDATE {qn(table)} SET {assignments} WHERE {qn(pk)} = %s",  # noqa: S608
                            params,
                        )
                        rotated += len(params)
                    last = rows[-1][0]
                bar.update(len(rows))
            bar.close()
            total_rotated += rotated
            self.stdout.write(f"{table}: {rotated} of {count} rows re-encrypted")
        return total_rotated

    @staticmethod
    def _under(newest: Fernet, token: str) -> bool:
        """Already encrypted under the newest key?"""
        try:
            newest.decrypt(token.encode("ascii"))
        except InvalidToken:
            return False
        return True
