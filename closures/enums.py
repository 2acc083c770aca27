"""Statuses, reasons and allowed transitions of closures and appeals (values fixed by CONTRACT.md)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClosureReason(models.TextChoices):
    CUSTOMER_REQUEST = "customer_request", _("At the customer's request")
    SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud")
    OVERDUE = "overdue", _("Repeatedly overdue")
    SECURITY_RISK = "security_risk", _("Security risk (unauthorized access)")
    POLICY_HIGH_RISK = "policy_high_risk", _("Platform policy: high risk")
    PRODUCT_CHANGE = "product_change", _("Platform policy: product change")


# Proposing a closure for these reasons puts a security hold on the account at once.
FREEZING_REASONS = {ClosureReason.SUSPECTED_FRAUD, ClosureReason.SECURITY_RISK}
# Risk-control reasons are reported to the credit bureau when the closure takes effect.
REPORTED_REASONS = {ClosureReason.SUSPECTED_FRAUD, ClosureReason.OVERDUE}
STAFF_REASONS = [r for r in ClosureReason if r != ClosureReason.CUSTOMER_REQUEST]


class ClosureStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting the customer's code")
    PENDING_REVIEW = "pending_review", _("Pending review")
    APPROVED = "approved", _("Approved, not yet in effect")
    CLOSING = "closing", _("Closing (balance still owed)")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    REVERSED = "reversed", _("Reversed on appeal")


# At most one of these per account (a partial unique index holds it).
OPEN_CLOSURE_STATUSES = [
    ClosureStatus.AWAITING_CONFIRMATION,
    ClosureStatus.PENDING_REVIEW,
    ClosureStatus.APPROVED,
    ClosureStatus.CLOSING,
]
# A closure in these statuses may be appealed: from its notice on, so also during the notice
# period before it takes effect (PRODUCT.md "Appeals against closures").
APPEALABLE_STATUSES = [ClosureStatus.APPROVED, ClosureStatus.CLOSING, ClosureStatus.CLOSED]
# The appeal window: 30 days from the delivery of the closure notice.
APPEAL_WINDOW_DAYS = 30

CLOSURE_TRANSITIONS: dict[str, set[str]] = {
    ClosureStatus.AWAITING_CONFIRMATION: {ClosureStatus.APPROVED, ClosureStatus.WITHDRAWN},
    ClosureStatus.PENDING_REVIEW: {
        ClosureStatus.APPROVED,
        ClosureStatus.REJECTED,
        ClosureStatus.WITHDRAWN,
    },
    ClosureStatus.APPROVED: {
        ClosureStatus.CLOSING,
        ClosureStatus.CLOSED,
        ClosureStatus.WITHDRAWN,
        ClosureStatus.REVERSED,  # an appeal upheld during the notice period
    },
    ClosureStatus.CLOSING: {ClosureStatus.CLOSED, ClosureStatus.REVERSED},
    ClosureStatus.CLOSED: {ClosureStatus.REVERSED},
    ClosureStatus.REJECTED: set(),
    ClosureStatus.WITHDRAWN: set(),
    ClosureStatus.REVERSED: set(),
}


class ClosureSource(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    RISK_ENGINE = "risk_engine", _("Risk engine")
    RISK_SCAN = "risk_scan", _("Risk scan")
    RISK_OFFICER = "risk_officer", _("Risk officer")
    AGENT = "agent", _("Support agent")
    CAMPAIGN = "campaign", _("Policy closure campaign")


class OtpChannel(models.TextChoices):
    SMS = "sms", _("Text message")
    EMAIL = "email", _("Email")


class AppealStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    UNDER_REVIEW = "under_review", _("Under review")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


OPEN_APPEAL_STATUSES = [AppealStatus.SUBMITTED, AppealStatus.UNDER_REVIEW]

APPEAL_TRANSITIONS: dict[str, set[str]] = {
    AppealStatus.SUBMITTED: {
        AppealStatus.UNDER_REVIEW,
        AppealStatus.UPHELD,
        AppealStatus.DISMISSED,
    },
    AppealStatus.UNDER_REVIEW: {AppealStatus.UPHELD, AppealStatus.DISMISSED},
    AppealStatus.UPHELD: set(),
    AppealStatus.DISMISSED: set(),
}


class AlertRule(models.TextChoices):
    STAFF_BURST = "staff_burst", _("One staff member proposed many closures in an hour")
    DAILY_SPIKE = "daily_spike", _("Closures today exceed 3x the trailing 7-day average")
    NO_RISK_SIGNAL = "no_risk_signal", _("Risk closure proposed without an open risk signal")
    # One summary per policy closure campaign instead of a per-account no_risk_signal alert.
    CAMPAIGN_SUMMARY = "campaign_summary", _("Policy closure campaign ran")


class ClosureEventKind(models.TextChoices):
    REQUESTED = "requested", _("Requested by the customer")
    CODE_SENT = "code_sent", _("One-time code sent")
    CONFIRMED = "confirmed", _("Confirmed by the customer")
    PROPOSED = "proposed", _("Proposed")
    FROZEN = "frozen", _("Account frozen")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    TOOK_EFFECT = "took_effect", _("Took effect")
    CLOSED = "closed", _("Account closed")
    NOTICE_SENT = "notice_sent", _("Closure notice sent")
    APPEAL_FILED = "appeal_filed", _("Appeal filed")
    APPEAL_REVIEW = "appeal_review", _("Appeal taken up for review")
    APPEAL_UPHELD = "appeal_upheld", _("Appeal upheld")
    APPEAL_DISMISSED = "appeal_dismissed", _("Appeal dismissed")
    REVERSED = "reversed", _("Closure reversed")


# --- Policy closure campaigns (closures/services/campaigns.py) -----------------------------------


class CampaignReason(models.TextChoices):
    POLICY_HIGH_RISK = ClosureReason.POLICY_HIGH_RISK.value, ClosureReason.POLICY_HIGH_RISK.label
    PRODUCT_CHANGE = ClosureReason.PRODUCT_CHANGE.value, ClosureReason.PRODUCT_CHANGE.label


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved, about to run")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    STOPPED = "stopped", _("Stopped")
    REJECTED = "rejected", _("Rejected")


CAMPAIGN_TRANSITIONS: dict[str, set[str]] = {
    CampaignStatus.DRAFT: {CampaignStatus.PENDING_APPROVAL, CampaignStatus.STOPPED},
    CampaignStatus.PENDING_APPROVAL: {
        CampaignStatus.APPROVED,
        CampaignStatus.REJECTED,
        CampaignStatus.STOPPED,
    },
    CampaignStatus.APPROVED: {CampaignStatus.RUNNING, CampaignStatus.STOPPED},
    CampaignStatus.RUNNING: {CampaignStatus.DONE, CampaignStatus.STOPPED},
    CampaignStatus.DONE: set(),
    CampaignStatus.STOPPED: set(),
    CampaignStatus.REJECTED: set(),
}
# A campaign in these statuses still writes (or is about to write) closures.
CAMPAIGN_WRITING_STATUSES = [CampaignStatus.APPROVED, CampaignStatus.RUNNING]
