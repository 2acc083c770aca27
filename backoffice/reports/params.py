"""A report's query string: the date range (`from`, `to`, local days, Asia/Shanghai) and its
filters. Bad input never fails the page: each problem becomes a note said on the page, and the
report is drawn for what could be understood (the default range, a clamped range, a filter left
out).

- No range: the last 12 weeks, from the Monday 11 weeks before this week's to today.
- `from` after `to`: the two are swapped. A range longer than MAX_RANGE_DAYS is cut to end at
  `to`. `to` after today is brought back to today (nothing is recorded in the future).
- An impossible date (2026-02-30, "yesterday"), an unknown value of a choice filter, a text
  filter with control characters, an unknown parameter: left out, with a note.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.http import QueryDict
from django.utils.translation import gettext as _

MAX_RANGE_DAYS = 731  # two years
DEFAULT_WEEKS = 12
WEEKLY_UP_TO_DAYS = 26 * 7  # longer ranges are drawn by month
TEXT_FILTER_MAX = 120
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Parameters every report understands besides its own filters.
COMMON_PARAMETERS = frozenset({"from", "to", "format", "table", "lang"})


@dataclass(frozen=True)
class FilterSpec:
    """One filter of a report: a choice among `choices` (value, label), or free text."""

    name: str
    label: str
    choices: Sequence[tuple[str, str]] | None = None


@dataclass
class ReportParams:
    start: date
    end: date
    filters: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def period(self) -> str:
        """ "week" for ranges up to 26 weeks, else "month"."""
        return "week" if (self.end - self.start).days < WEEKLY_UP_TO_DAYS else "month"

    def periods(self, period: str | None = None) -> list[date]:
        return period_starts(self.start, self.end, period or self.period)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def period_starts(start: date, end: date, period: str) -> list[date]:
    """Every period (Monday of a week, first of a month) that meets start..end, in order."""
    out: list[date] = []
    if period == "week":
        cursor = week_start(start)
        while cursor <= end:
            out.append(cursor)
            cursor += timedelta(days=7)
    elif period == "month":
        cursor = month_start(start)
        while cursor <= end:
            out.append(cursor)
            cursor = (cursor + timedelta(days=32)).replace(day=1)
    else:
        out = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    return out


def default_range(today: date) -> tuple[date, date]:
    return week_start(today) - timedelta(weeks=DEFAULT_WEEKS - 1), today


def _parse_date(raw: str) -> date | None | bool:
    """The date, None when empty, False when not a real YYYY-MM-DD date."""
    raw = raw.strip()
    if not raw:
        return None
    if not ISO_DATE.fullmatch(raw):
        return False
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return False


def _range(query: QueryDict, today: date, notes: list[str]) -> tuple[date, date]:
    start = _parse_date(query.get("from", ""))
    end = _parse_date(query.get("to", ""))
    if start is False:
        notes.append(
            _("“%(value)s” is not a date (YYYY-MM-DD): the start date was left out.")
            % {"value": query.get("from", "")[:40]}
        )
        start = None
    if end is False:
        notes.append(
            _("“%(value)s” is not a date (YYYY-MM-DD): the end date was left out.")
            % {"value": query.get("to", "")[:40]}
        )
        end = None
    default_start, default_end = default_range(today)
    if start is None and end is None:
        return default_start, default_end
    if end is None:
        end = today
    if start is None:
        start = week_start(end) - timedelta(weeks=DEFAULT_WEEKS - 1)
    if start > end:
        start, end = end, start
        notes.append(_("The start date was after the end date: the two were swapped."))
    if end > today:
        end = today
        notes.append(_("The range ends today at the latest: nothing is recorded later."))
        start = min(start, end)
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        start = end - timedelta(days=MAX_RANGE_DAYS - 1)
        notes.append(
            _("A report covers at most two years: showing %(start)s to %(end)s.")
            % {"start": start.isoformat(), "end": end.isoformat()}
        )
    return start, end


def _filter_value(spec: FilterSpec, raw: str, notes: list[str]) -> str:
    value = raw.strip()
    if not value:
        return ""
    if spec.choices is not None:
        if value in {code for code, _label in spec.choices}:
            return value
        notes.append(
            _("“%(value)s” is not a known %(filter)s: that filter was left out.")
            % {"value": value[:40], "filter": spec.label}
        )
        return ""
    if not value.isprintable() or len(value) > TEXT_FILTER_MAX:
        notes.append(
            _("The %(filter)s filter is too long or holds control characters: it was left out.")
            % {"filter": spec.label}
        )
        return ""
    return value


def report_params(
    query: QueryDict,
    *,
    today: date,
    filters: Iterable[FilterSpec] = (),
    extra_parameters: Iterable[str] = (),
    ranged: bool = True,
) -> ReportParams:
    """The range and filters of a report's query string, with notes on what was left out.
    A report that is not `ranged` (one month, or figures of now) takes no `from`/`to`."""
    notes: list[str] = []
    specs = list(filters)
    common = COMMON_PARAMETERS if ranged else COMMON_PARAMETERS - {"from", "to"}
    known = common | {s.name for s in specs} | set(extra_parameters)
    for name in query:
        if name not in known:
            notes.append(
                _("This report has no filter “%(name)s”: it was left out.") % {"name": name[:40]}
            )
    start, end = _range(query, today, notes) if ranged else default_range(today)
    values = {s.name: _filter_value(s, query.get(s.name, ""), notes) for s in specs}
    return ReportParams(start=start, end=end, filters=values, notes=notes)
