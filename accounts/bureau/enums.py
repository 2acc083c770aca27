"""What goes to the credit bureau and where each message stands (no imports of ours: the models
and the backends both read these)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BureauMessage(models.TextChoices):
    OBJECTION_MARK = "objection_mark", _("Objection mark")
    OBJECTION_OUTCOME = "objection_outcome", _("Objection outcome")
    CORRECTION = "correction", _("Correction")


class BureauStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged by the bureau")
    # The bureau may or may not have it (worker lost, timeout after the request went out):
    # never sent again without a person deciding so.
    UNKNOWN = "unknown", _("Outcome unknown")
    FAILED = "failed", _("Failed")
    # Never sent, and no longer to be sent (the objection was settled before its mark left).
    CANCELLED = "cancelled", _("Cancelled before sending")


class ObjectionOutcome(models.TextChoices):
    UPHELD = "upheld", _("Upheld: the record is removed")
    REJECTED = "rejected", _("Rejected: the record stands")
    WITHDRAWN = "withdrawn", _("Withdrawn by the customer")


# Statuses in which a message may still reach (or may have reached) the bureau.
LIVE_STATUSES = (BureauStatus.PENDING, BureauStatus.SENDING, BureauStatus.UNKNOWN)
