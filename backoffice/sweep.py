"""The periodic sweep (Celery beat `backoffice.sweep`, and `manage.py sweep`): the notice outbox
first, then the SLA sweeps of complaints and closures, then the reports' rollup. The top layer
knows every app, so the sweeps are a plain table here; no lower app imports this module."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.bureau.services import bureau_sweep
from closures.sweeps import closures_sweep
from complaints.sweeps import complaints_sweep
from notices.services import notices_sweep

from .reports.complaint_figures import report_rollup_refresh

logger = logging.getLogger(__name__)

# (label, sweep), run in this order: each takes `now=` and returns a summary (dict or int).
SWEEPS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("notices", notices_sweep),
    ("bureau", bureau_sweep),
    ("complaints", complaints_sweep),
    ("closures", closures_sweep),
    ("reports", report_rollup_refresh),
)


def sweep_all(*, now: datetime | None = None) -> dict[str, Any]:
    """Run every sweep; one failing sweep does not stop the others. Returns what each did."""
    now = now or timezone.now()
    results: dict[str, Any] = {}
    for label, sweep in SWEEPS:
        try:
            results[label] = sweep(now=now)
        except Exception as exc:
            logger.exception("sweep %s failed", label)
            results[label] = {"error": f"{type(exc).__name__}: {exc}"}
    return results
