"""Registries through which the apps above notices react to what happens to their notices
(notices imports none of them). Filled in the higher app's `AppConfig.ready()`:

    from notices.hooks import on_expired
    on_expired["closure.code"].append(closure_code_expired)

`on_expired[event]`: callables `(notice, *, actor)` run in the transaction that marks a notice
of `event` expired (still unsent at its `expires_at`); the notice's `last_error` holds the
reason. A hook that raises rolls the expiry back (the sweep retries it next time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

on_expired: defaultdict[str, list[Callable[..., Any]]] = defaultdict(list)
