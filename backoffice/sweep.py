"""The periodic sweep (Celery beat `backoffice.sweep`, and `manage.py sweep`): notices first,
then the SLA sweeps of the other apps when they are installed."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.utils import timezone

from notices.services import notices_sweep

logger = logging.getLogger(__name__)

# (label, module, function): each takes `now=` and returns a summary (dict or int).
APP_SWEEPS = [
    ("complaints", "complaints.sweeps", "complaints_sweep"),
    ("closures", "closures.sweeps", "closures_sweep"),
]


def _app_sweep(module_name: str, function: str) -> Callable[..., Any] | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    return getattr(module, function, None)


def sweep_all(*, now: datetime | None = None) -> dict[str, Any]:
    """Run every sweep; one failing sweep does not stop the others. Returns what each did."""
    now = now or timezone.now()
    results: dict[str, Any] = {}
    sweeps: list[tuple[str, Callable[..., Any]]] = [("notices", notices_sweep)]
    for label, module_name, function in APP_SWEEPS:
        fn = _app_sweep(module_name, function)
        if fn is not None:
            sweeps.append((label, fn))
    for label, fn in sweeps:
        try:
            results[label] = fn(now=now)
        except Exception as exc:
            logger.exception("sweep %s failed", label)
            results[label] = {"error": f"{type(exc).__name__}: {exc}"}
    return results
