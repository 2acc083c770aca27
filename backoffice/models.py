"""The managers' reports' daily rollup of complaint figures (backoffice/reports/rollup.py).

Derived data, not domain data: rebuilt from the complaints table, never edited by hand, so it
keeps no history. One row per closed local day (Asia/Shanghai) and (category, channel,
root cause) holds that day's counts; `ReportRollupDay` marks the days already rolled up, so a
day with no complaint at all is told apart from a day not rolled yet.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ReportRollupDay(models.Model):
    """A local day whose figures are in ComplaintDayFigures (complete once its row exists)."""

    day = models.DateField(_("day"), unique=True)
    rolled_at = models.DateTimeField(_("rolled up"))
    # Whether the end-of-day snapshot (open and overdue at the day's end) was taken for it:
    # only the sweep that rolls a day just after it ended can see that state.
    has_snapshot = models.BooleanField(_("end-of-day snapshot taken"), default=False)

    class Meta:
        verbose_name = _("rolled-up report day")
        verbose_name_plural = _("rolled-up report days")

    def __str__(self) -> str:
        return self.day.isoformat()


class ComplaintDayFigures(models.Model):
    """Counts of one local day for one (category, channel, root cause).

    Receipt figures (`received`) are on the day of receipt, with `root_cause` blank; decision
    figures on the day of the decision, under the decision's root cause; `overdue_open` is the
    end-of-day snapshot, with `root_cause` blank (null where no snapshot was taken).
    """

    day = models.DateField(_("day"))
    category = models.CharField(_("category"), max_length=20)
    channel = models.CharField(_("channel"), max_length=8)
    root_cause = models.CharField(_("root cause"), max_length=24, blank=True)
    received = models.PositiveIntegerField(_("received"), default=0)
    decided = models.PositiveIntegerField(_("decided"), default=0)
    decided_on_time = models.PositiveIntegerField(_("decided by the due date"), default=0)
    decided_within_15 = models.PositiveIntegerField(_("decided within 15 days"), default=0)
    decided_within_30 = models.PositiveIntegerField(_("decided within 30 days"), default=0)
    decided_within_60 = models.PositiveIntegerField(_("decided within 60 days"), default=0)
    extended = models.PositiveIntegerField(_("decided after an extension"), default=0)
    extended_twice = models.PositiveIntegerField(_("decided after a second extension"), default=0)
    paused = models.PositiveIntegerField(_("decided after a pause"), default=0)
    upheld_or_partly = models.PositiveIntegerField(_("upheld or partly upheld"), default=0)
    overdue_open = models.PositiveIntegerField(_("open and overdue at the day's end"), null=True)

    class Meta:
        verbose_name = _("complaint figures of a day")
        verbose_name_plural = _("complaint figures of days")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "category", "channel", "root_cause"],
                name="complaint_day_figures_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category}/{self.channel}/{self.root_cause}"
