"""The complaint clocks of PRODUCT.md "Complaints and their clocks", in calendar days; the
arithmetic (Asia/Shanghai, end of local day N, pauses) is core.clock's, re-exported here so the
complaints app reads one module.
"""

from __future__ import annotations

from datetime import timedelta

from core.clock import (
    END_OF_DAY,
    REMINDER_BEFORE,
    SHANGHAI,
    Pause,
    add_calendar_days,
    due_at,
    end_of_local_day,
    is_due_soon,
    is_overdue,
    local_date,
    pause_length,
    sla_badge,
    time_left,
    within_window,
)

DECISION_DAYS = 15
EXTENDED_DAYS = 30
MAX_EXTENDED_DAYS = 60
REVIEW_WINDOW_DAYS = 30
REVIEW_DECISION_DAYS = 30
OBJECTION_DAYS = 20
# Pauses adding up to more than this need a manager.
PAUSE_LIMIT_WITHOUT_MANAGER = timedelta(days=30)

__all__ = [
    "DECISION_DAYS",
    "END_OF_DAY",
    "EXTENDED_DAYS",
    "MAX_EXTENDED_DAYS",
    "OBJECTION_DAYS",
    "PAUSE_LIMIT_WITHOUT_MANAGER",
    "REMINDER_BEFORE",
    "REVIEW_DECISION_DAYS",
    "REVIEW_WINDOW_DAYS",
    "SHANGHAI",
    "Pause",
    "add_calendar_days",
    "due_at",
    "end_of_local_day",
    "is_due_soon",
    "is_overdue",
    "local_date",
    "pause_length",
    "sla_badge",
    "time_left",
    "within_window",
]
