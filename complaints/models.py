"""Complaints and disputes of loan records, with their clocks, decisions and reviews.

Writes go through complaints.services (case events through complaints.events, row locks through
complaints.locks); reads through complaints.selectors. Every model keeps its history with the
acting user and a reason; nothing is deleted (FKs PROTECT). The ledger rows a complaint
concerns (accounts, loans, credit-report objections) belong to accounts and change only
through accounts.services.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.enums import Language, LoanStatus
from core.append_only import append_only_trigger

from . import clock
from .enums import (
    OPEN_STATUSES,
    AlertDimension,
    Category,
    Channel,
    EventType,
    ItemOutcome,
    Outcome,
    PauseReason,
    RegulatorReplyChannel,
    RegulatorSource,
    ReviewOutcome,
    ReviewStatus,
    RootCause,
    Status,
)

ZERO = Decimal("0.00")
USER = settings.AUTH_USER_MODEL


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


def _user_fk(verbose_name, related_name: str = "+") -> models.ForeignKey:
    return models.ForeignKey(
        USER,
        verbose_name=verbose_name,
        on_delete=models.PROTECT,
        related_name=related_name,
        null=True,
        blank=True,
    )


_OPEN = Q(status__in=OPEN_STATUSES)


class Complaint(models.Model):
    reference = models.CharField(_("reference"), max_length=24, unique=True)
    customer = models.ForeignKey(
        "accounts.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    account = models.ForeignKey(
        "accounts.CreditAccount",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="complaints",
        null=True,
        blank=True,
    )
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    description = models.TextField(_("description"))
    account_compromised = models.BooleanField(_("account may be compromised"), default=False)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    # The decision clock: clock_days (15, 30 or 60) plus the days spent paused.
    clock_days = models.PositiveSmallIntegerField(_("clock (days)"), default=clock.DECISION_DAYS)
    paused_days = models.PositiveSmallIntegerField(_("days paused"), default=0)
    # The exact paused time (to the minute) the deadline is pushed back by; `paused_days` is
    # its whole days rounded up, kept for the queues and reports.
    paused_total = models.DurationField(
        _("time paused"), default=timedelta(0), db_default=timedelta(0)
    )  # db_default: the bulk seeders insert rows in SQL
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    pause_reason = models.CharField(
        _("pause reason"), max_length=12, choices=PauseReason.choices, blank=True
    )
    due_at = models.DateTimeField(_("decision due"))
    extension_requested_by = _user_fk(_("further extension requested by"))
    extension_request_reason = models.TextField(_("further extension reason"), blank=True)
    assignee = _user_fk(_("assignee"), "assigned_complaints")
    drafted_by = _user_fk(_("decision drafted by"))
    approved_by = _user_fk(_("decision approved by"))
    decision_text = models.TextField(_("decision"), blank=True)
    root_cause = models.CharField(
        _("root cause"), max_length=24, choices=RootCause.choices, blank=True
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Sweep bookkeeping: which deadline we last reminded about / escalated.
    reminded_for = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_for = models.DateTimeField(null=True, blank=True, editable=False)
    # A regulator referral (channel `regulator`): the referral, the regulator's own deadline
    # (the case's deadline is the earlier of it and ours), and our reply to the regulator with
    # its delivery (complaints/services/regulator.py).
    regulator_source = models.CharField(
        _("referred by"), max_length=16, choices=RegulatorSource.choices, blank=True
    )
    referral_number = models.CharField(_("referral number"), max_length=64, blank=True)
    regulator_due_at = models.DateTimeField(_("regulator's deadline"), null=True, blank=True)
    regulator_reply = models.TextField(_("reply to the regulator"), blank=True)
    regulator_replied_by = _user_fk(_("replied to the regulator"))
    regulator_reply_channel = models.CharField(
        _("reply delivered by"), max_length=16, choices=RegulatorReplyChannel.choices, blank=True
    )
    regulator_reply_delivered_at = models.DateTimeField(_("reply delivered"), null=True, blank=True)
    regulator_reply_proof = models.CharField(
        _("delivery proof (receipt number)"), max_length=120, blank=True
    )
    # A repeat complaint (PRODUCT.md): same customer, account and category as earlier ones
    # received within 90 days. Written once, at intake (complaints/repeats.py); the queue reads
    # the stored count, the case page lists the earlier ones.
    repeat_of = models.ForeignKey(
        "self",
        verbose_name=_("repeat of"),
        on_delete=models.PROTECT,
        related_name="repeats",
        null=True,
        blank=True,
    )
    repeat_count = models.PositiveSmallIntegerField(
        _("earlier complaints within 90 days"), default=0
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=Status.values), name="complaint_status_valid"
            ),
        ]
        indexes = [
            # Queues: unassigned / mine / due soon / overdue, all sorted by deadline.
            models.Index(
                fields=["due_at", "id"],
                name="complaint_unassigned_idx",
                condition=_OPEN & Q(assignee__isnull=True),
            ),
            models.Index(
                fields=["assignee", "due_at", "id"], name="complaint_mine_idx", condition=_OPEN
            ),
            models.Index(
                fields=["due_at", "id"],
                name="complaint_open_due_idx",
                condition=_OPEN & Q(paused_at__isnull=True),
            ),
            # The unfiltered list, and the "all open" queue (closed cases hold the earliest
            # deadlines, so walking the plain index would skip them all first), by deadline.
            models.Index(fields=["due_at", "id"], name="complaint_due_idx"),
            models.Index(fields=["due_at", "id"], name="complaint_open_idx", condition=_OPEN),
            models.Index(fields=["customer", "-received_at"], name="complaint_customer_idx"),
            models.Index(fields=["category", "received_at"], name="complaint_category_idx"),
            models.Index(fields=["status", "-received_at"], name="complaint_status_idx"),
        ]
        permissions = [
            ("work_complaint", _("Can work complaints (assign, notes, clocks, decisions)")),
            ("approve_decision", _("Can approve complaint decisions")),
            ("approve_extension", _("Can approve further extensions")),
            ("decide_review", _("Can decide review requests")),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def sla_badge(self, now=None) -> str:
        now = now or timezone.now()
        if not self.is_open:
            return "none"
        return clock.sla_badge(self.due_at, now=now, paused=self.paused_at is not None)

    def time_left(self, now=None):
        return clock.time_left(self.due_at, now=now or timezone.now())


class DisputedItem(models.Model):
    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="items"
    )
    loan = models.ForeignKey(
        "accounts.LoanRecord",
        verbose_name=_("loan record"),
        on_delete=models.PROTECT,
        related_name="disputed_items",
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=ItemOutcome.choices, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    # What the reversal gave back (filled when an upheld decision is applied).
    reversed_outstanding = _money(_("outstanding written off"), default=ZERO)
    refunded_repaid = _money(_("repaid amount refunded"), default=ZERO)
    refunded_fees = _money(_("fees refunded"), default=ZERO)
    refunded_interest = _money(_("interest refunded"), default=ZERO)
    # The ledger's refund entry for what the customer had repaid on the reversed record.
    refund_credit = models.OneToOneField(
        "accounts.AccountCredit",
        verbose_name=_("refund entry"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    applied_at = models.DateTimeField(_("applied"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("disputed loan record")
        verbose_name_plural = _("disputed loan records")
        constraints = [
            models.UniqueConstraint(fields=["complaint", "loan"], name="disputed_item_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id}:{self.loan_id}"


class CaseEvent(models.Model):
    """One entry of a complaint's timeline, written by complaints.events (one function per type).

    Besides the free `text` (a reason, a message, a decision), each type fills the typed fields
    it needs: a status change (`from_status` -> `to_status`), an assignment, a deadline moved
    (`previous_due_at` -> `due_at`), a pause reason, a drafted outcome, a loan record's status
    change, the review request concerned.
    """

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="events"
    )
    type = models.CharField(_("event"), max_length=24, choices=EventType.choices)
    actor = _user_fk(_("actor"))
    customer_visible = models.BooleanField(_("visible to the customer"), default=False)
    text = models.TextField(_("text"), blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)
    from_status = models.CharField(
        _("status before"), max_length=20, choices=Status.choices, blank=True
    )
    to_status = models.CharField(
        _("status after"), max_length=20, choices=Status.choices, blank=True
    )
    assignee = _user_fk(_("assignee"))
    previous_assignee = _user_fk(_("previous assignee"))
    due_at = models.DateTimeField(_("decision due"), null=True, blank=True)
    previous_due_at = models.DateTimeField(_("previously due"), null=True, blank=True)
    pause_reason = models.CharField(
        _("pause reason"), max_length=12, choices=PauseReason.choices, blank=True
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    loan = models.ForeignKey(
        "accounts.LoanRecord",
        verbose_name=_("loan record"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    loan_from_status = models.CharField(
        _("loan status before"), max_length=16, choices=LoanStatus.choices, blank=True
    )
    loan_to_status = models.CharField(
        _("loan status after"), max_length=16, choices=LoanStatus.choices, blank=True
    )
    review = models.ForeignKey(
        "VerificationRequest",
        verbose_name=_("review request"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        indexes = [models.Index(fields=["complaint", "at", "id"], name="case_event_timeline_idx")]
        # Append-only in the database itself (core/append_only.py): no UPDATE, no DELETE.
        triggers = [append_only_trigger()]

    def __str__(self) -> str:
        return f"{self.get_type_display()} @ {self.at:%Y-%m-%d %H:%M}"

    @property
    def public_text(self) -> str:
        """What the customer's timeline (portal and API) shows beside the event: the channel a
        complaint came by, the loan record concerned, or the text - never the decision's text,
        which has its own section. Needs `loan` selected (complaints.selectors does)."""
        if self.type == EventType.DECIDED:
            return ""
        if self.loan_id is not None:
            return self.loan.reference
        if self.type == EventType.RECEIVED:
            return str(self.complaint.get_channel_display())
        return self.text

    @property
    def change(self) -> str:
        """The staff timeline's "before → after", from the typed fields this event has."""
        parts = []
        if self.from_status or self.to_status:
            parts.append((self.get_from_status_display(), self.get_to_status_display()))
        if self.assignee_id or self.previous_assignee_id:
            parts.append((_username(self.previous_assignee), _username(self.assignee)))
        if self.due_at or self.previous_due_at:
            parts.append((_local(self.previous_due_at), _local(self.due_at)))
        if self.loan_id is not None:
            # Needs `loan` selected (the case page does).
            before = f"{self.loan.reference}: {self.get_loan_from_status_display()}"
            parts.append((before, self.get_loan_to_status_display()))
        if self.pause_reason:
            parts.append(("", self.get_pause_reason_display()))
        if self.outcome:
            parts.append(("", self.get_outcome_display()))
        return "; ".join(f"{before} → {after}" for before, after in parts)


def _username(user) -> str:
    return user.get_username() if user is not None else ""


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


class InternalNote(models.Model):
    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="notes"
    )
    author = models.ForeignKey(
        USER, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(_("written"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("internal note")
        verbose_name_plural = _("internal notes")
        indexes = [models.Index(fields=["complaint", "created_at"], name="note_complaint_idx")]

    def __str__(self) -> str:
        return self.text[:40]


class Compensation(models.Model):
    complaint = models.OneToOneField(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.PROTECT,
        related_name="compensation",
    )
    amount = _money(_("amount"))
    reason = models.TextField(_("reason"))
    proposed_by = models.ForeignKey(
        USER, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    # When it was booked to the account, and the ledger's entry for it.
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    credit = models.OneToOneField(
        "accounts.AccountCredit",
        verbose_name=_("ledger entry"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="compensation_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount}"


class VerificationRequest(models.Model):
    """The customer's request for a review (核查) of a decision."""

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="reviews"
    )
    grounds = models.TextField(_("grounds"))
    status = models.CharField(
        _("status"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.SUBMITTED
    )
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=ReviewOutcome.choices, blank=True
    )
    decision_text = models.TextField(_("decision"), blank=True)
    handler = _user_fk(_("handled by"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    due_at = models.DateTimeField(_("decision due"))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    # Sweep bookkeeping: the deadline the handler was last reminded about.
    reminded_for = models.DateTimeField(null=True, blank=True, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("review request")
        verbose_name_plural = _("review requests")
        indexes = [
            models.Index(
                fields=["due_at"], name="review_open_due_idx", condition=Q(status="submitted")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.complaint_id} / {self.received_at:%Y-%m-%d}"


class IncidentAlert(models.Model):
    """>= 5 unauthorized-loan complaints within 24 h sharing a partner interface or merchant."""

    dimension = models.CharField(_("dimension"), max_length=20, choices=AlertDimension.choices)
    value = models.CharField(_("value"), max_length=120)
    complaint_count = models.PositiveIntegerField(_("complaints"))
    window_start = models.DateTimeField(_("window start"))
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("incident alert")
        verbose_name_plural = _("incident alerts")
        indexes = [
            models.Index(fields=["dimension", "value", "-raised_at"], name="incident_value_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()}: {self.value}"


# --- The conversation with the customer (issue 13 item 9) and canned replies (item 6) ----------


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Uploads under settings.MEDIA_ROOT with no URL: served only by the access-checked views
    (complaints/views.py, api.py, admin.py), as downloads."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    def url(self, name):  # pragma: no cover - never exposed
        raise NotImplementedError("private files are served by access-checked views only")


private_storage = PrivateStorage()

ATTACHMENT_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def conversation_attachment_path(instance: ConversationAttachment, filename: str) -> str:
    # A random name: the customer's file name is neither trusted nor kept on disk.
    ext = ATTACHMENT_EXTENSIONS.get(instance.content_type, "bin")
    return f"complaints/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{ext}"


class ConversationMessage(models.Model):
    """One message of the conversation on a case, from the customer or from staff. Written only
    by complaints.services.conversation; append-only in the database."""

    class Author(models.TextChoices):
        CUSTOMER = "customer", _("customer")
        STAFF = "staff", _("staff")

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("complaint"), on_delete=models.PROTECT, related_name="messages"
    )
    author_kind = models.CharField(_("from"), max_length=8, choices=Author.choices)
    author = models.ForeignKey(
        USER, verbose_name=_("written by"), on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField(_("message"), blank=True)
    canned_reply = models.ForeignKey(
        "CannedReply",
        verbose_name=_("canned reply used"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(_("sent"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("conversation message")
        verbose_name_plural = _("conversation messages")
        indexes = [
            models.Index(
                fields=["complaint", "-created_at", "-id"], name="conversation_complaint_idx"
            ),
        ]
        triggers = [append_only_trigger()]

    def __str__(self) -> str:
        return f"{self.complaint_id} / {self.get_author_kind_display()} @ {self.created_at:%Y-%m-%d %H:%M}"


class ConversationAttachment(models.Model):
    """A file the customer added to the conversation (PDF, JPEG or PNG, at most 5 MB, checked
    by its bytes); append-only."""

    message = models.ForeignKey(
        ConversationMessage,
        verbose_name=_("message"),
        on_delete=models.PROTECT,
        related_name="attachments",
    )
    file = models.FileField(
        _("file"), storage=private_storage, upload_to=conversation_attachment_path
    )
    content_type = models.CharField(_("file type"), max_length=40)
    name = models.CharField(_("original file name"), max_length=200)
    size = models.PositiveIntegerField(_("size (bytes)"))
    created_at = models.DateTimeField(_("added"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("conversation attachment")
        verbose_name_plural = _("conversation attachments")
        triggers = [append_only_trigger()]

    def __str__(self) -> str:
        return self.name

    @property
    def download_name(self) -> str:
        return f"{self.name.rsplit('.', 1)[0] or 'attachment'}.{ATTACHMENT_EXTENSIONS.get(self.content_type, 'bin')}"


class CannedReply(models.Model):
    """A text module agents pick when messaging a customer, in one language, with placeholders
    {customer_name}, {reference} and {deadline} filled in when it is picked or sent. Managed by
    managers in the admin; retired, never deleted."""

    title = models.CharField(_("title"), max_length=120)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    body = models.TextField(_("text"))
    active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")
        ordering = ("language", "title", "id")
        constraints = [
            models.UniqueConstraint(fields=["language", "title"], name="canned_reply_unique_title"),
        ]

    def __str__(self) -> str:
        return self.title
