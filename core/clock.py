"""Clocks in calendar days, Asia/Shanghai (PRODUCT.md "Complaints and their clocks").

Convention (used by complaints, closures and appeals alike):

* Day 0 is the local calendar day (Asia/Shanghai) on which the clock starts; the deadline
  of an N-day clock is the END of local day N, i.e. 23:59:59.999999 Asia/Shanghai on the
  date `local_date(start) + N days`. A complaint received at 00:10 or at 23:50 on 1 March
  is due at the end of 16 March for a 15-day clock. Month ends and leap days need no special
  case: it is plain calendar arithmetic on local dates.
* Inputs may be in any time zone (aware datetimes); they are converted to Asia/Shanghai
  before the date is taken, so 2024-03-01 17:00 UTC (= 2 March 01:00 in Shanghai) starts on
  2 March.
* Pauses (outside appraisal, mediation, the customer's own evidence) push the deadline back
  by their exact length, from the minute of the pause to the minute of the resume (no rounding
  up to whole days); an open pause (resumed_at None) is counted up to `now`.
* Returned datetimes are aware, in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59, 999999)
DAY = timedelta(days=1)

REMINDER_BEFORE = timedelta(days=2)


@dataclass(frozen=True)
class Pause:
    started_at: datetime
    resumed_at: datetime | None = None


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("clock arithmetic needs aware datetimes")
    return value


def local_date(value: datetime) -> date:
    """The calendar date of `value` in Asia/Shanghai."""
    return _aware(value).astimezone(SHANGHAI).date()


def end_of_local_day(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI)


def add_calendar_days(start: datetime, days: int) -> datetime:
    """End (23:59:59.999999 Asia/Shanghai) of the local calendar day `days` after `start`'s."""
    if days < 0:
        raise ValueError("days must not be negative")
    return end_of_local_day(local_date(start) + timedelta(days=days))


def minute_floor(value: datetime) -> datetime:
    """`value` to the start of its minute: pauses count from the minute of the pause to the
    minute of the resume."""
    return _aware(value).replace(second=0, microsecond=0)


def pause_length(pause: Pause | tuple[datetime, datetime | None], *, now: datetime) -> timedelta:
    """The exact time a pause adds to a deadline, to the minute (no rounding up to whole days;
    an instant pause and resume adds nothing); an open pause is counted up to `now`."""
    started, resumed = (
        (pause.started_at, pause.resumed_at) if isinstance(pause, Pause) else (pause[0], pause[1])
    )
    end = resumed if resumed is not None else now
    elapsed = minute_floor(end) - minute_floor(started)
    return max(elapsed, timedelta(0))


def due_at(
    received_at: datetime,
    days: int,
    paused_periods: Iterable[Pause | tuple[datetime, datetime | None]] = (),
    *,
    now: datetime | None = None,
) -> datetime:
    """Deadline of a `days`-day clock started at `received_at`, pushed back by the exact paused
    time."""
    if now is None:
        now = timezone.now()
    paused = sum((pause_length(p, now=now) for p in paused_periods), timedelta(0))
    return add_calendar_days(received_at, days) + paused


def time_left(deadline: datetime | None, *, now: datetime) -> timedelta | None:
    """Signed time until the deadline (negative when overdue)."""
    if deadline is None:
        return None
    return _aware(deadline) - _aware(now)


def is_overdue(deadline: datetime | None, *, now: datetime) -> bool:
    return deadline is not None and _aware(now) > _aware(deadline)


def is_due_soon(
    deadline: datetime | None, *, now: datetime, within: timedelta = REMINDER_BEFORE
) -> bool:
    return deadline is not None and _aware(now) <= _aware(deadline) <= _aware(now) + within


def sla_badge(deadline: datetime | None, *, now: datetime, paused: bool = False) -> str:
    """One of "paused", "overdue", "due_soon", "on_track", "none" (for admin badges)."""
    if paused:
        return "paused"
    if deadline is None:
        return "none"
    if is_overdue(deadline, now=now):
        return "overdue"
    if is_due_soon(deadline, now=now):
        return "due_soon"
    return "on_track"


def window_end_from_delivery(delivered_at: datetime, days: int) -> datetime:
    """The end of a right counted from a notice's delivery (review, appeal): day 1 is the day
    after delivery, the window ends at the end of local day `days` (Asia/Shanghai)."""
    return add_calendar_days(delivered_at, days)


def within_window(start: datetime, days: int, *, now: datetime) -> bool:
    """True while `now` is on or before the end of the `days`-day window opened at `start`."""
    return _aware(now) <= add_calendar_days(start, days)
