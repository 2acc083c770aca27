"""Closures of credit accounts, appeals against them, abnormal-closure alerts, the closure case
events, and the customer's one-time-code device that confirms a closure request.

Writes go through closures.services (the case events through closures.events, the row locks
in closures.locks); reads through closures.selectors. Nothing is deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from django_otp.models import CooldownMixin, SideChannelDevice
from simple_history.models import HistoricalRecords

from core.append_only import append_only_trigger

from .enums import (
    OPEN_CLOSURE_STATUSES,
    AlertRule,
    AppealStatus,
    CampaignReason,
    CampaignStatus,
    ClosureEventKind,
    ClosureReason,
    ClosureSource,
    ClosureStatus,
    OtpChannel,
)
from .reasons import notice_label, system_reason_display


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class ClosureRequest(models.Model):
    account = models.ForeignKey(
        "accounts.CreditAccount",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="closure_requests",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ClosureReason.choices)
    status = models.CharField(_("status"), max_length=24, choices=ClosureStatus.choices)
    source = models.CharField(_("source"), max_length=16, choices=ClosureSource.choices)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested or proposed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rejected or withdrawn by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    explanation = models.TextField(_("explanation for the customer"), blank=True)
    internal_note = models.TextField(_("internal note"), blank=True)
    evidence = models.JSONField(_("evidence snapshot"), default=list, blank=True)
    risk_signals = models.ManyToManyField(
        "accounts.RiskSignal", verbose_name=_("risk signals"), blank=True, related_name="closures"
    )
    froze_account = models.BooleanField(_("froze the account when proposed"), default=False)
    notice_days = models.PositiveSmallIntegerField(_("notice period (days)"), default=0)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    effective_at = models.DateTimeField(_("takes effect"), null=True, blank=True)
    took_effect_at = models.DateTimeField(_("took effect"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    ended_at = models.DateTimeField(_("rejected, withdrawn or reversed"), null=True, blank=True)
    notice_sent_at = models.DateTimeField(_("closure notice sent"), null=True, blank=True)
    appeal_deadline = models.DateTimeField(_("appeal by"), null=True, blank=True)
    reported_to_bureau = models.BooleanField(_("reported to the credit bureau"), default=False)
    # A customer's request: its one-time codes, counted over every resend (issue 14 item 6).
    code_sends = models.PositiveSmallIntegerField(_("codes sent"), default=0)
    code_failures = models.PositiveSmallIntegerField(_("wrong codes entered"), default=0)
    code_channel = models.CharField(
        _("last code sent by"), max_length=8, choices=OtpChannel.choices, blank=True
    )
    # The account as it was before the closure touched it: the reversal restores these fields.
    pre_status = models.CharField(_("status before the closure"), max_length=16, blank=True)
    pre_credit_limit = _money(_("credit limit before the closure"), null=True, blank=True)
    pre_available_credit = _money(_("available credit before the closure"), null=True, blank=True)
    pre_outstanding_balance = _money(
        _("outstanding balance before the closure"), null=True, blank=True
    )
    pre_closed_at = models.DateTimeField(_("closed date before the closure"), null=True, blank=True)
    # A closure written by a policy closure campaign (closures/services/campaigns.py): the
    # campaign's approval is its reviewer's approval.
    campaign = models.ForeignKey(
        "ClosureCampaign",
        verbose_name=_("campaign"),
        on_delete=models.PROTECT,
        related_name="closures",
        null=True,
        blank=True,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("closure request")
        verbose_name_plural = _("closure requests")
        permissions = [
            ("propose_closure", _("Can propose a closure")),
            ("approve_closure", _("Can approve or reject a proposed closure")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=OPEN_CLOSURE_STATUSES),
                name="closure_one_open_per_account",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ClosureStatus.values), name="closure_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=ClosureReason.values), name="closure_reason_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason=ClosureReason.CUSTOMER_REQUEST) | ~Q(explanation=""),
                name="closure_explained",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="closure_account_idx"),
            # Admin queues: proposals to review, closures taking effect.
            models.Index(fields=["status", "created_at"], name="closure_status_created_idx"),
            models.Index(
                fields=["effective_at"],
                name="closure_due_effect_idx",
                condition=Q(status="approved"),
            ),
            models.Index(
                fields=["created_at"],
                name="closure_awaiting_idx",
                condition=Q(status="awaiting_confirmation"),
            ),
            # Anomaly checks: proposals per staff member per hour, closures per day.
            models.Index(fields=["proposed_by", "created_at"], name="closure_proposer_idx"),
            models.Index(fields=["took_effect_at"], name="closure_took_effect_idx"),
            # A campaign's page: its closures' progress by status.
            models.Index(
                fields=["campaign", "status"],
                name="closure_campaign_idx",
                condition=Q(campaign__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()} ({self.get_status_display()})"

    @property
    def appeal_link(self) -> str:
        return f"{settings.PORTAL_BASE_URL}/portal/appeals/new/?closure={self.pk}"


class ClosureEvent(models.Model):
    """One step of a closure's case history: what happened, who did it and why (append-only).

    Written only through closures.events, one function per kind; each kind fills its own typed
    fields: a transition its `old_status`/`new_status`, a code sent its `channel`, a notice its
    `notice_event`, an appeal step its `appeal`, and every step a person decided its `reason`."""

    closure = models.ForeignKey(
        ClosureRequest, verbose_name=_("closure"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("event"), max_length=20, choices=ClosureEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+"
    )
    old_status = models.CharField(
        _("from"), max_length=24, choices=ClosureStatus.choices, blank=True
    )
    new_status = models.CharField(_("to"), max_length=24, choices=ClosureStatus.choices, blank=True)
    reason = models.TextField(_("why"), blank=True)
    channel = models.CharField(
        _("code sent by"), max_length=8, choices=OtpChannel.choices, blank=True
    )
    notice_event = models.CharField(_("notice sent"), max_length=40, blank=True)
    appeal = models.ForeignKey(
        "Appeal",
        verbose_name=_("appeal"),
        on_delete=models.PROTECT,
        related_name="events",
        null=True,
        blank=True,
    )
    at = models.DateTimeField(_("time"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("closure event")
        verbose_name_plural = _("closure events")
        indexes = [models.Index(fields=["closure", "at"], name="closure_event_idx")]
        # Append-only in the database itself (core/append_only.py): no UPDATE, no DELETE.
        triggers = [append_only_trigger()]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} @ {self.at:%Y-%m-%d %H:%M}"

    @property
    def summary(self) -> str:
        """The "why" column of the case history, in the reader's language: the reason (a
        service's own translated, closures/reasons.py), else what the event names in words."""
        if self.reason:
            return system_reason_display(self.reason)
        if self.channel:
            return str(self.get_channel_display())
        if self.appeal_id is not None:
            return self.appeal.reference
        return notice_label(self.notice_event)


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Uploads under settings.MEDIA_ROOT (outside the web root, no URL): served only by views
    that check access first."""

    def __init__(self) -> None:
        super().__init__(base_url=None)

    def url(self, name):  # pragma: no cover - never exposed
        raise NotImplementedError("private files are served by access-checked views only")


private_storage = PrivateStorage()


def appeal_attachment_path(instance: Appeal, filename: str) -> str:
    # A random name: the customer's file name is neither trusted nor kept on disk.
    ext = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}.get(
        instance.attachment_content_type, ""
    )
    return f"appeals/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}"


class Appeal(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    closure = models.OneToOneField(
        ClosureRequest, verbose_name=_("closure"), on_delete=models.PROTECT, related_name="appeal"
    )
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("filed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    grounds = models.TextField(_("grounds"))
    attachment = models.FileField(
        _("attachment"), storage=private_storage, upload_to=appeal_attachment_path, blank=True
    )
    attachment_content_type = models.CharField(
        _("attachment content type"), max_length=40, blank=True, editable=False
    )
    attachment_name = models.CharField(_("original file name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=AppealStatus.choices, default=AppealStatus.SUBMITTED
    )
    filed_at = models.DateTimeField(_("filed"), default=timezone.now)
    due_at = models.DateTimeField(_("decide by"))
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewing manager"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_text = models.TextField(_("decision"), blank=True)
    escalated_at = models.DateTimeField(_("escalated as overdue"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("appeal")
        verbose_name_plural = _("appeals")
        permissions = [("decide_appeal", _("Can decide an appeal against a closure"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AppealStatus.values), name="appeal_status_valid"
            ),
        ]
        indexes = [
            # Admin queue: appeals to decide, soonest deadline first.
            models.Index(
                fields=["due_at"],
                name="appeal_open_due_idx",
                condition=Q(status__in=["submitted", "under_review"]),
            ),
            models.Index(fields=["filed_by", "-filed_at"], name="appeal_filer_idx"),
        ]

    def __str__(self) -> str:
        return self.reference


class ClosureAlert(models.Model):
    """Abnormal closure activity for managers (PRODUCT.md); each alert is raised once (key)."""

    rule = models.CharField(_("rule"), max_length=20, choices=AlertRule.choices)
    key = models.CharField(_("key"), max_length=100, unique=True)
    closure = models.ForeignKey(
        ClosureRequest,
        verbose_name=_("closure"),
        on_delete=models.PROTECT,
        related_name="alerts",
        null=True,
        blank=True,
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff member"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    details = models.JSONField(_("details"), default=dict, blank=True)
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("closure alert")
        verbose_name_plural = _("closure alerts")
        indexes = [models.Index(fields=["-raised_at"], name="closure_alert_raised_idx")]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} @ {self.raised_at:%Y-%m-%d %H:%M}"


def _code_hash(device_pk: int, purpose: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{device_pk}:{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


class CustomerOtpDevice(CooldownMixin, SideChannelDevice):
    """A customer's one-time code for confirming a closure, sent by SMS or email through the
    notices outbox (never to the portal inbox).

    django-otp keeps the token in plain text; this device keeps only an HMAC of it (`token`
    stays empty). A code is bound to one purpose (`closure:<id>`), expires after
    CLOSURE_OTP_VALIDITY seconds, can be re-sent only after the cooldown, and is cleared when
    used (no reuse). The limits that outlive one code live elsewhere: wrong tries and sends per
    closure on the ClosureRequest (CLOSURE_OTP_MAX_ATTEMPTS, CLOSURE_CODE_MAX_SENDS), sends per
    customer and local day here (`sends_on`, `sends_that_day`; CLOSURE_CODE_MAX_SENDS_PER_DAY).
    """

    channel = models.CharField(max_length=8, choices=OtpChannel.choices, default=OtpChannel.SMS)
    purpose = models.CharField(max_length=64, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    # Wrong tries of the current code only (informational; the closure counts across resends).
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    sends_on = models.DateField(null=True, blank=True)
    sends_that_day = models.PositiveSmallIntegerField(default=0)

    class Meta(SideChannelDevice.Meta):
        verbose_name = _("customer one-time code device")
        verbose_name_plural = _("customer one-time code devices")

    def get_cooldown_duration(self) -> int:
        return getattr(settings, "CLOSURE_OTP_RESEND_SECONDS", 60)

    def sends_today(self, *, today) -> int:
        """Codes sent to this customer on the local day `today` (Asia/Shanghai)."""
        return self.sends_that_day if self.sends_on == today else 0

    def code_issue(self, *, purpose: str) -> str:
        """A fresh code for `purpose`; the caller delivers it. Saves only the hash."""
        code = f"{secrets.randbelow(10**6):06d}"
        now = timezone.now()
        today = timezone.localdate(now)
        self.sends_that_day = self.sends_today(today=today) + 1
        self.sends_on = today
        self.purpose = purpose
        self.token = None
        self.token_hash = _code_hash(self.pk, purpose, code)
        self.valid_until = now + timedelta(seconds=getattr(settings, "CLOSURE_OTP_VALIDITY", 300))
        self.failed_attempts = 0
        self.sent_count += 1
        self.cooldown_set(commit=False)
        self.save()
        return code

    def code_clear(self) -> None:
        """No code waits any more (used, or its request cancelled)."""
        self.token_hash = ""
        self.purpose = ""
        self.save(update_fields=["token_hash", "purpose"])

    def code_check(self, *, purpose: str, code: str) -> str:
        """'ok', or why not: 'missing', 'expired', 'wrong'. Consumes the code on 'ok'. How many
        wrong tries a request allows is the caller's rule (they count across resends)."""
        if not self.token_hash or self.purpose != purpose:
            return "missing"
        if timezone.now() >= self.valid_until:
            return "expired"
        expected = _code_hash(self.pk, purpose, (code or "").strip())
        if hmac.compare_digest(expected, self.token_hash):
            self.failed_attempts = 0
            self.save(update_fields=["failed_attempts"])
            self.code_clear()
            return "ok"
        self.failed_attempts += 1
        self.save(update_fields=["failed_attempts"])
        return "wrong"

    # django-otp's generic API, so the device also works with its helpers.
    def generate_token(self, length=6, valid_secs=300, commit=True):  # noqa: ARG002
        raise NotImplementedError("use code_issue(purpose=...)")

    def verify_token(self, token) -> bool:  # noqa: ARG002
        """Never through django-otp's generic helpers: a closure code is checked only by
        closures.services.closure_confirm, which counts wrong tries across resends."""
        return False


class ClosureCampaign(models.Model):
    """A policy closure campaign (PRODUCT.md "Closures", issue 15): a manager defines a segment
    of accounts and the customer-facing explanation in both languages; a reviewer approves it
    (four eyes, step-up); then one approved closure per account is written in batches
    (closures/services/campaigns.py), each with its own notice period, notice and appeal right.

    `segment` is the definition as validated (`campaigns.segment_clean`); `matched_count` and
    `sample` the preview taken when it was last counted; `cursor` the last account id a batch
    handled (the run resumes after it)."""

    title = models.CharField(_("title"), max_length=200)
    reason = models.CharField(_("reason"), max_length=20, choices=CampaignReason.choices)
    segment = models.JSONField(_("segment"), default=dict)
    explanation_zh = models.TextField(_("explanation for the customer (Chinese)"))
    explanation_en = models.TextField(_("explanation for the customer (English)"))
    status = models.CharField(
        _("status"), max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rejected or stopped by"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    approval_reason = models.TextField(_("approval reason"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    ended_at = models.DateTimeField(_("rejected or stopped"), null=True, blank=True)
    previewed_at = models.DateTimeField(_("counted"), null=True, blank=True)
    matched_count = models.PositiveIntegerField(_("accounts matched"), default=0)
    sample = models.JSONField(_("sample of accounts"), default=list, blank=True)
    proposed_count = models.PositiveIntegerField(_("closures written"), default=0)
    notified_count = models.PositiveIntegerField(_("customers notified"), default=0)
    cursor = models.BigIntegerField(_("last account handled"), default=0)
    batches = models.PositiveIntegerField(_("batches run"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("closure campaign")
        verbose_name_plural = _("closure campaigns")
        permissions = [
            ("create_campaign", _("Can create, submit and stop a closure campaign")),
            ("approve_campaign", _("Can approve or reject a closure campaign")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="campaign_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=CampaignReason.values), name="campaign_reason_valid"
            ),
            models.CheckConstraint(
                condition=~Q(explanation_zh="") & ~Q(explanation_en=""),
                name="campaign_explained",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="campaign_status_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    def explanation_for(self, language: str) -> str:
        return self.explanation_en if (language or "").startswith("en") else self.explanation_zh
