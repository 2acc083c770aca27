"""Statuses, categories and allowed transitions of complaints (values fixed by CONTRACT.md)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Category(models.TextChoices):
    UNAUTHORIZED_LOAN = "unauthorized_loan", _("A loan I did not make")
    CLOSURE = "closure", _("Account closure")
    BILLING = "billing", _("Billing")
    SERVICE = "service", _("Service")
    PRIVACY = "privacy", _("Privacy")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    PORTAL = "portal", _("Portal")
    API = "api", _("API")
    PHONE = "phone", _("Phone")
    LETTER = "letter", _("Letter")
    # Referred by the regulator (the 12378 hotline, NFRA): entered by staff with the referral.
    REGULATOR = "regulator", _("Regulator referral")


class RegulatorSource(models.TextChoices):
    HOTLINE_12378 = "hotline_12378", _("12378 consumer hotline")
    NFRA = "nfra", _("NFRA referral")


class RegulatorReplyChannel(models.TextChoices):
    """How our reply reached the regulator."""

    PORTAL = "portal", _("The regulator's complaint system")
    EMAIL = "email", _("Email")
    LETTER = "letter", _("Letter")
    FAX = "fax", _("Fax")


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    INVESTIGATING = "investigating", _("Investigating")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    DECIDED = "decided", _("Decided")
    UNDER_REVIEW = "under_review", _("Under review")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = [Status.RECEIVED, Status.INVESTIGATING, Status.PENDING_APPROVAL]
# Statuses in which a decision can be drafted (and the agent's "decide" action is offered).
DECIDABLE_STATUSES = [Status.RECEIVED, Status.INVESTIGATING]

TRANSITIONS: dict[str, set[str]] = {
    Status.RECEIVED: {
        Status.INVESTIGATING,
        Status.PENDING_APPROVAL,
        Status.DECIDED,
        Status.WITHDRAWN,
    },
    Status.INVESTIGATING: {Status.PENDING_APPROVAL, Status.DECIDED, Status.WITHDRAWN},
    Status.PENDING_APPROVAL: {Status.DECIDED, Status.INVESTIGATING},
    Status.DECIDED: {Status.UNDER_REVIEW, Status.CLOSED},
    Status.UNDER_REVIEW: {Status.DECIDED},
    # A review (核查) asked for within its 30 days reopens a closed case.
    Status.CLOSED: {Status.UNDER_REVIEW},
    Status.WITHDRAWN: set(),
}


class Outcome(models.TextChoices):
    UPHELD = "upheld", _("Upheld")
    PARTIALLY_UPHELD = "partially_upheld", _("Partially upheld")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ItemOutcome(models.TextChoices):
    UPHELD = "upheld", _("Upheld")
    REJECTED = "rejected", _("Rejected")


class RootCause(models.TextChoices):
    PARTNER_INTERFACE = "partner_interface", _("Partner interface")
    WEAK_AUTHENTICATION = "weak_authentication", _("Weak authentication")
    MISSING_CONSENT = "missing_consent", _("Missing consent record")
    RISK_MODEL_ERROR = "risk_model_error", _("Risk model error")
    THIRD_PARTY_FRAUD = "third_party_fraud", _("Third-party fraud")
    CUSTOMER_ERROR = "customer_error", _("Customer error")
    OTHER = "other", _("Other")


class PauseReason(models.TextChoices):
    """The fixed list of reasons the decision clock may pause for (no other is accepted)."""

    APPRAISAL = "appraisal", _("Outside appraisal")
    MEDIATION = "mediation", _("Mediation")
    CUSTOMER_EVIDENCE = "evidence", _("Waiting for the customer's own evidence")


class EventType(models.TextChoices):
    RECEIVED = "received", _("Complaint received")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ASSIGNED = "assigned", _("Assigned")
    NOTE = "note", _("Internal note")
    MESSAGE = "message", _("Message to the customer")
    EXTENDED = "extended", _("Deadline extended")
    EXTENSION_REQUESTED = "extension_requested", _("Further extension requested")
    EXTENSION_REFUSED = "extension_refused", _("Further extension refused")
    PAUSED = "paused", _("Clock paused")
    RESUMED = "resumed", _("Clock resumed")
    DRAFTED = "drafted", _("Decision drafted")
    SUBMITTED = "submitted", _("Decision submitted for approval")
    RETURNED = "returned", _("Decision returned")
    APPROVED = "approved", _("Decision approved")
    DECIDED = "decided", _("Decision made")
    LOAN_DISPUTED = "loan_disputed", _("Loan record disputed")
    LOAN_REVERSED = "loan_reversed", _("Loan record reversed")
    ACCOUNT_FROZEN = "account_frozen", _("Account frozen and sessions signed out")
    REVIEW_REQUESTED = "review_requested", _("Review requested")
    REVIEW_DECIDED = "review_decided", _("Review decided")
    REMINDER = "reminder", _("Reminder sent")
    ESCALATED = "escalated", _("Escalated to managers")
    REGULATOR_REPLIED = "regulator_replied", _("Reply to the regulator delivered")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ReviewStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    DECIDED = "decided", _("Decided")


class ReviewOutcome(models.TextChoices):
    UPHELD = "upheld", _("Original decision changed")
    DISMISSED = "dismissed", _("Original decision confirmed")


class AlertDimension(models.TextChoices):
    PARTNER_INTERFACE = "partner_interface", _("Partner interface")
    MERCHANT = "merchant", _("Merchant")
