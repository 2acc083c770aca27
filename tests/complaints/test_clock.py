from datetime import UTC, datetime, timedelta

import pytest

from complaints import clock
from complaints.clock import SHANGHAI, Pause


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_fifteen_days_ends_at_local_midnight() -> None:
    due = clock.add_calendar_days(sh(2026, 3, 1, 0, 10), 15)
    assert due == sh(2026, 3, 16, 23, 59, 59, 999999)
    assert clock.add_calendar_days(sh(2026, 3, 1, 23, 50), 15) == due


def test_month_end_and_year_end() -> None:
    assert clock.add_calendar_days(sh(2026, 1, 31, 9), 15).date() == datetime(2026, 2, 15).date()
    assert clock.add_calendar_days(sh(2026, 12, 20, 9), 15).date() == datetime(2027, 1, 4).date()
    assert clock.add_calendar_days(sh(2026, 2, 14, 9), 15).date() == datetime(2026, 3, 1).date()


def test_leap_day() -> None:
    assert clock.add_calendar_days(sh(2028, 2, 14, 9), 15).date() == datetime(2028, 2, 29).date()
    assert clock.add_calendar_days(sh(2028, 2, 29, 9), 30).date() == datetime(2028, 3, 30).date()


def test_utc_input_uses_shanghai_date() -> None:
    # 17:00 UTC on 1 March is 01:00 on 2 March in Shanghai: the clock starts on 2 March.
    start = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)
    assert clock.local_date(start).isoformat() == "2026-03-02"
    assert clock.add_calendar_days(start, 15) == sh(2026, 3, 17, 23, 59, 59, 999999)
    # 15:59 UTC is still 1 March (23:59) in Shanghai.
    assert clock.local_date(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)).isoformat() == "2026-03-01"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        clock.add_calendar_days(datetime(2026, 3, 1), 15)
    with pytest.raises(ValueError):
        clock.add_calendar_days(sh(2026, 3, 1), -1)


def test_pauses_push_the_deadline_back() -> None:
    received = sh(2026, 3, 1, 9)
    now = sh(2026, 3, 20)
    pauses = [Pause(sh(2026, 3, 3, 9), sh(2026, 3, 6, 9))]  # exactly 3 days
    assert clock.due_at(received, 15, pauses, now=now) == sh(2026, 3, 19, 23, 59, 59, 999999)
    # a few hours add exactly those hours (to the minute), never a whole day
    short = [Pause(sh(2026, 3, 3, 9, 0, 30), sh(2026, 3, 3, 11, 15, 59))]
    end_16 = sh(2026, 3, 16, 23, 59, 59, 999999)
    assert clock.due_at(received, 15, short, now=now) == end_16 + timedelta(hours=2, minutes=15)
    # two pauses add up; tuples work too
    two = [(sh(2026, 3, 3, 9), sh(2026, 3, 4, 9)), (sh(2026, 3, 8, 9), sh(2026, 3, 10, 9))]
    assert clock.due_at(received, 15, two, now=now).date().day == 19


def test_open_pause_counts_until_now() -> None:
    received = sh(2026, 3, 1, 9)
    pauses = [Pause(sh(2026, 3, 3, 9), None)]
    # open since 3 March 09:00, now 5 March 08:00: 47 hours so far
    assert clock.due_at(received, 15, pauses, now=sh(2026, 3, 5, 8)) == sh(
        2026, 3, 16, 23, 59, 59, 999999
    ) + timedelta(hours=47)
    instant = Pause(sh(2026, 3, 3, 9, 0, 5), sh(2026, 3, 3, 9, 0, 50))
    assert clock.pause_length(instant, now=sh(2026, 3, 4)) == timedelta(0)


def test_extensions() -> None:
    received = sh(2026, 1, 31, 12)
    assert clock.due_at(received, clock.EXTENDED_DAYS, now=received).date().isoformat() == (
        "2026-03-02"
    )
    assert clock.due_at(received, clock.MAX_EXTENDED_DAYS, now=received).date().isoformat() == (
        "2026-04-01"
    )


def test_time_left_badges_and_windows() -> None:
    due = sh(2026, 3, 16, 23, 59, 59, 999999)
    now = sh(2026, 3, 15, 12)
    assert clock.time_left(due, now=now) > timedelta(days=1)
    assert clock.sla_badge(due, now=now) == "due_soon"
    assert clock.sla_badge(due, now=sh(2026, 3, 10)) == "on_track"
    assert clock.sla_badge(due, now=sh(2026, 3, 17)) == "overdue"
    assert clock.sla_badge(due, now=sh(2026, 3, 17), paused=True) == "paused"
    assert clock.sla_badge(None, now=now) == "none"
    assert clock.time_left(due, now=sh(2026, 3, 17)) < timedelta(0)
    decided = sh(2026, 3, 10, 10)
    assert clock.within_window(decided, 30, now=sh(2026, 4, 9, 23, 59))
    assert not clock.within_window(decided, 30, now=sh(2026, 4, 10, 0, 0, 1))
