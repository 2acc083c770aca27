"""The closure history's "why" column in the reader's language (issue 15).

Services store the reasons they write themselves (a system step, not a person's words) in
English, the neutral form the trail, the history rows and the seals keep; the rows are
append-only, so nothing is rewritten. A page shows them through `system_reason_display()`:
a stored reason that is one of the templates below is translated at display time with its
values put back (a campaign's title, an appeal's reference, the person's own words after the
colon stay as they were written); any other reason (what a person typed) is shown as it is.
The notice an event names is shown by its label, never its code (`closure.notice`).

A template here must be the exact text its service writes (closures/services/*, sweeps.py,
risk_scan.py); tests/closures/test_reasons_display.py holds them together."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy

SYSTEM_REASONS = (
    gettext_lazy("closure campaign #%(campaign)s: %(title)s"),
    gettext_lazy("closure campaign #%(campaign)s approved: %(reason)s"),
    gettext_lazy("appeal %(reference)s upheld: %(reason)s"),
    gettext_lazy("closure #%(closure)s took effect"),
    gettext_lazy("closure #%(closure)s"),
    gettext_lazy("balance repaid while closing"),
    gettext_lazy("confirmed with a one-time code"),
    gettext_lazy("not confirmed within 24 hours"),
    gettext_lazy("customer asked to close the account"),
    gettext_lazy("risk scan: overdue count at or over the threshold"),
    gettext_lazy("risk engine signal #%(signal)s"),
    gettext_lazy("reminder sent: decide by %(due_at)s"),
)

NOTICE_LABELS = {
    "closure.code": gettext_lazy("One-time code"),
    "closure.requested": gettext_lazy("Closure request received"),
    "closure.frozen": gettext_lazy("Account frozen"),
    "closure.notice": gettext_lazy("Closure notice"),
    "closure.hold_lifted": gettext_lazy("Account hold lifted"),
    "closure.withdrawn": gettext_lazy("Closure withdrawn"),
    "closure.closed": gettext_lazy("Account closed"),
    "appeal.received": gettext_lazy("Appeal received"),
    "appeal.upheld": gettext_lazy("Appeal upheld"),
    "appeal.dismissed": gettext_lazy("Appeal dismissed"),
    "staff.appeal_reminder": gettext_lazy("Appeal reminder to staff"),
    "staff.appeal_overdue": gettext_lazy("Overdue appeal alert to staff"),
    "staff.closure_alert": gettext_lazy("Closure alert to staff"),
}

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# What a placeholder holds where it is not the last (ids are numbers, a reference one word).
_GROUPS = {"campaign": r"\d+", "closure": r"\d+", "signal": r"\d+", "reference": r"\S+"}


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], Any], ...]:
    """Each template as a pattern over the stored (English) text: its words literally, its
    placeholders as groups (the last one takes the rest: a person's words may hold anything)."""
    compiled = []
    for template in SYSTEM_REASONS:
        with translation.override(None):  # no language: the msgid, as the services write it
            english = str(template)
        pieces = _PLACEHOLDER.split(english)
        regex = []
        names = pieces[1::2]
        for index, piece in enumerate(pieces):
            if index % 2 == 0:
                regex.append(re.escape(piece))
            else:
                last = index == 2 * len(names) - 1 and pieces[-1] == ""
                group = ".*" if last else _GROUPS.get(piece, ".+?")
                regex.append(f"(?P<{piece}>{group})")
        compiled.append((re.compile("".join(regex) + r"\Z", re.DOTALL), template))
    return tuple(compiled)


def system_reason_display(reason: str) -> str:
    """A stored reason in the active language: a service's template translated with its values,
    anything else as written."""
    if not reason:
        return reason
    for pattern, template in _patterns():
        match = pattern.match(reason)
        if match:
            return str(template) % match.groupdict()
    return reason


def notice_label(event: str) -> str:
    """The notice an event sent, in words; an event with no label yet keeps its code."""
    label = NOTICE_LABELS.get(event)
    return str(label) if label is not None else event
