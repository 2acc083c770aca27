"""Celery beat, one at a time (issue 14 item 15): `SingletonScheduler` sends the schedule only
while it holds a PostgreSQL advisory lock.

Every node may start a beat (`celery -A backoffice beat`); one takes the lock and sends the
periodic tasks, the others stand by and try again every few seconds. The lock belongs to the
leader's own database session, so it goes when the leader does (killed, its machine gone, or the
database restarted): a standby takes over within `STANDBY_SECONDS`. On SQLite (`make run`, one
beat) there is nothing to share and the scheduler always leads.
"""

from __future__ import annotations

import contextlib
import logging

from celery.beat import PersistentScheduler

logger = logging.getLogger(__name__)

# pg_try_advisory_lock key: b"cd-beat" as an integer; any constant our other locks do not use.
LOCK_KEY = int.from_bytes(b"cd-beat", "big")
STANDBY_SECONDS = 5.0


class SingletonScheduler(PersistentScheduler):
    """PersistentScheduler that only sends while it holds the beat lock."""

    def __init__(self, *args, **kwargs) -> None:
        self._lock_connection = None
        self._leading = False
        super().__init__(*args, **kwargs)

    # --- the lock ---------------------------------------------------------------------------

    def _connect(self):
        import psycopg
        from django.conf import settings

        db = settings.DATABASES["default"]
        return psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            autocommit=True,
            connect_timeout=5,
            application_name="celery-beat-lock",
        )

    def holds_lock(self) -> bool:
        from django.conf import settings

        if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
            return True
        try:
            if self._lock_connection is not None and self._leading:
                self._lock_connection.execute("SELECT 1")  # still our session: still ours
                return True
            if self._lock_connection is None:
                self._lock_connection = self._connect()
            row = self._lock_connection.execute(
                "SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)
            ).fetchone()
            leading = bool(row and row[0])
        except Exception as exc:  # noqa: BLE001 - no database: nobody leads from here
            logger.warning("beat lock: database unavailable (%s); standing by", exc)
            self._drop_connection()
            leading = False
        if leading != self._leading:
            logger.warning(
                "beat lock %s: this beat %s the schedule",
                "taken" if leading else "lost",
                "now sends" if leading else "no longer sends",
            )
        self._leading = leading
        return leading

    def _drop_connection(self) -> None:
        if self._lock_connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self._lock_connection.close()
        self._lock_connection = None

    # --- celery.beat.Scheduler -------------------------------------------------------------

    def tick(self, *args, **kwargs) -> float:
        if not self.holds_lock():
            return STANDBY_SECONDS
        return min(super().tick(*args, **kwargs), STANDBY_SECONDS)

    def close(self) -> None:
        super().close()
        self._drop_connection()  # the lock goes with the session
        self._leading = False
