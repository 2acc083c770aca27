"""The accounts domain: users, customers, credit accounts, loan records and their authorization
trail, repayments, risk signals, credit-report corrections.

Writes go through accounts.services, row locks through accounts.locks, reads through
accounts.selectors. Every model keeps its history (django-simple-history) with the acting user
and a reason; nothing is deleted.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from simple_history import register
from simple_history.models import HistoricalRecords

from core import crypto

from .bureau.enums import BureauMessage, BureauStatus, ObjectionOutcome
from .enums import (
    AccountStatus,
    AuthMethod,
    AuthOutcome,
    CorrectionKind,
    CorrectionStatus,
    CreditKind,
    Language,
    LoanChannel,
    LoanKind,
    LoanStatus,
    RepaymentChannel,
    RiskSignalKind,
    RiskSignalSource,
    RiskSignalStatus,
    Severity,
)

ZERO = Decimal("0.00")


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


def _new_security_stamp() -> str:
    return secrets.token_hex(16)


class User(AbstractUser):
    """Customers and staff alike. Staff have is_staff and belong to a role group."""

    # Part of the session hash: a new stamp signs the user out of every session at once.
    security_stamp = models.CharField(max_length=32, default=_new_security_stamp, editable=False)

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "accounts.User.get_session_auth_hash",
            f"{self.password}:{self.security_stamp}",
            algorithm="sha256",
        ).hexdigest()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def is_customer(self) -> bool:
        return not self.is_staff and hasattr(self, "customer")

    @property
    def is_system(self) -> bool:
        return self.username.startswith("system:")


# The custom user keeps its history through register() (it cannot declare the field itself
# before the auth machinery is set up).
register(User, app=__package__, table_name="accounts_historicaluser")


class Customer(models.Model):
    user = models.OneToOneField(
        User, verbose_name=_("login"), on_delete=models.PROTECT, related_name="customer"
    )
    name = models.CharField(_("name"), max_length=100)
    national_id = crypto.EncryptedTextField(_("national ID number"))
    national_id_index = models.CharField(max_length=64, editable=False)
    phone = crypto.EncryptedTextField(_("mobile phone"))
    phone_index = models.CharField(max_length=64, editable=False)
    preferred_language = models.CharField(
        _("preferred language"), max_length=8, choices=Language.choices, default=Language.ZH_HANS
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # The lending core's reference and version of the customer (accounts/services/ingest.py).
    core_reference = models.CharField(
        _("lending core reference"), max_length=64, null=True, blank=True, unique=True
    )
    core_updated_at = models.DateTimeField(_("updated in the lending core"), null=True, blank=True)
    core_hash = models.CharField(
        max_length=64, blank=True, editable=False, default="", db_default=""
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                fields=["national_id_index"], name="customer_unique_national_id"
            ),
        ]
        indexes = [
            models.Index(fields=["phone_index"], name="customer_phone_idx"),
            models.Index(fields=["name"], name="customer_name_idx"),
        ]
        permissions = [("view_unmasked_pii", _("Can see unmasked personal data"))]

    def __str__(self) -> str:
        return f"{self.name} ({self.masked_phone})"

    @property
    def masked_phone(self) -> str:
        return crypto.mask_phone(self.phone)

    @property
    def masked_national_id(self) -> str:
        return crypto.mask_national_id(self.national_id)


class CreditAccount(models.Model):
    number = models.CharField(_("account number"), max_length=20, unique=True)
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="accounts"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    credit_limit = _money(_("credit limit"))
    outstanding_balance = _money(_("outstanding balance"), default=ZERO)
    available_credit = _money(_("available credit"))
    interest_free_days = models.PositiveSmallIntegerField(_("interest-free days"), default=30)
    # Superseded: nothing reads it any more; the overdue figures are derived from the schedules
    # (AccountDelinquency). Kept only because many fixtures and seeders still write it.
    overdue_count = models.PositiveIntegerField(_("overdue count (superseded)"), default=0)
    # Money the account owes the customer (refunds, compensation) beyond what they owed: held
    # until paid out (accounts.services.credits). db_default: the bulk seeders insert in SQL.
    credit_balance = _money(_("credit balance"), default=ZERO, db_default=ZERO)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit account")
        verbose_name_plural = _("credit accounts")
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="account_limit_nonneg"),
            models.CheckConstraint(
                condition=Q(outstanding_balance__gte=0), name="account_balance_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(credit_balance__gte=0), name="account_credit_balance_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(available_credit__gte=0), name="account_available_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AccountStatus.values), name="account_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=AccountStatus.CLOSED, closed_at__isnull=False)
                | ~Q(status=AccountStatus.CLOSED),
                name="account_closed_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "opened_at"], name="account_customer_idx"),
            models.Index(fields=["status", "id"], name="account_status_idx"),
        ]

    def __str__(self) -> str:
        return self.number_masked

    @property
    def number_masked(self) -> str:
        return f"**** {self.number[-4:]}"


class LoanRecord(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    account = models.ForeignKey(
        CreditAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="loans"
    )
    amount = _money(_("amount"))
    outstanding_amount = _money(_("outstanding amount"))
    fees = _money(_("fees"), default=ZERO)
    interest = _money(_("interest"), default=ZERO)
    kind = models.CharField(_("kind"), max_length=16, choices=LoanKind.choices)
    merchant = models.CharField(_("merchant"), max_length=120, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=LoanChannel.choices)
    partner_interface = models.CharField(
        _("partner interface"), max_length=64, blank=True, db_index=True
    )
    status = models.CharField(
        _("status"), max_length=16, choices=LoanStatus.choices, default=LoanStatus.POSTED
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    collection_paused = models.BooleanField(_("collection paused"), default=False)
    # Booked by the lending core (accounts/services/ingest.py): the hash of the body it sent,
    # and what the feed flagged (recorded, never refused): the partner-interface register's
    # refusal code, and a loan booked on an account that was not lending.
    core_hash = models.CharField(
        max_length=64, blank=True, editable=False, default="", db_default=""
    )
    register_violation = models.CharField(
        _("partner-interface register breach"),
        max_length=32,
        blank=True,
        default="",
        db_default="",
    )
    booked_while_not_lending = models.BooleanField(
        _("booked on an account not lending"), default=False, db_default=False
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("loan record")
        verbose_name_plural = _("loan records")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="loan_amount_positive"),
            models.CheckConstraint(
                condition=Q(outstanding_amount__gte=0), name="loan_outstanding_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(outstanding_amount__lte=models.F("amount")),
                name="loan_outstanding_le_amount",
            ),
            models.CheckConstraint(condition=Q(fees__gte=0), name="loan_fees_nonneg"),
            models.CheckConstraint(condition=Q(interest__gte=0), name="loan_interest_nonneg"),
            models.CheckConstraint(
                condition=Q(status__in=LoanStatus.values), name="loan_status_valid"
            ),
        ]
        indexes = [
            # The account page: newest first, keyset-paginated.
            models.Index(fields=["account", "-created_at", "-id"], name="loan_account_created_idx"),
            models.Index(fields=["merchant", "created_at"], name="loan_merchant_idx"),
        ]

    def __str__(self) -> str:
        return self.reference


class AuthorizationEvent(models.Model):
    """The consent trail behind a loan (or an account action): how, where and from what."""

    account = models.ForeignKey(
        CreditAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="authorization_events",
    )
    loan = models.ForeignKey(
        LoanRecord,
        verbose_name=_("loan record"),
        on_delete=models.PROTECT,
        related_name="authorization_events",
        null=True,
        blank=True,
    )
    method = models.CharField(_("method"), max_length=16, choices=AuthMethod.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=LoanChannel.choices)
    partner_interface = models.CharField(_("partner interface"), max_length=64, blank=True)
    device_id = models.CharField(_("device"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    consent_reference = models.CharField(_("consent reference"), max_length=64, blank=True)
    occurred_at = models.DateTimeField(_("time"), default=timezone.now)
    outcome = models.CharField(
        _("outcome"), max_length=8, choices=AuthOutcome.choices, default=AuthOutcome.SUCCESS
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("authorization event")
        verbose_name_plural = _("authorization events")
        indexes = [
            models.Index(fields=["account", "occurred_at"], name="auth_account_time_idx"),
            models.Index(fields=["account", "device_id"], name="auth_account_device_idx"),
            models.Index(fields=["account", "ip_address"], name="auth_account_ip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_method_display()} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class Repayment(models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    account = models.ForeignKey(
        CreditAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="repayments",
    )
    loan = models.ForeignKey(
        LoanRecord,
        verbose_name=_("loan record"),
        on_delete=models.PROTECT,
        related_name="repayments",
        null=True,
        blank=True,
    )
    amount = _money(_("amount"))
    channel = models.CharField(_("channel"), max_length=16, choices=RepaymentChannel.choices)
    paid_at = models.DateTimeField(_("paid"), default=timezone.now)
    # Booked by the lending core: the hash of its body, and the part of the repayment beyond
    # what was owed, held in the account's credit balance (flagged and alerted).
    core_hash = models.CharField(
        max_length=64, blank=True, editable=False, default="", db_default=""
    )
    excess_amount = _money(_("paid beyond what was owed"), default=ZERO, db_default=ZERO)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="repayment_amount_positive"),
        ]
        indexes = [models.Index(fields=["account", "-paid_at"], name="repayment_account_idx")]

    def __str__(self) -> str:
        return self.reference


class RiskSignal(models.Model):
    account = models.ForeignKey(
        CreditAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="risk_signals",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=RiskSignalKind.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    source = models.CharField(_("source"), max_length=16, choices=RiskSignalSource.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RiskSignalStatus.choices, default=RiskSignalStatus.OPEN
    )
    details = models.JSONField(_("evidence"), default=dict, blank=True)
    raised_by = models.ForeignKey(
        User, verbose_name=_("raised by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("raised"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("risk signal")
        verbose_name_plural = _("risk signals")
        indexes = [
            models.Index(fields=["account", "status"], name="risk_account_status_idx"),
            models.Index(fields=["status", "-created_at"], name="risk_status_created_idx"),
        ]
        permissions = [("raise_risk_signal", _("Can raise risk signals (risk engine)"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} / {self.get_severity_display()}"


class CreditReportCorrection(models.Model):
    """An objection mark or a correction sent to the credit bureau for an account or a loan."""

    account = models.ForeignKey(
        CreditAccount,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="credit_report_corrections",
    )
    loan = models.ForeignKey(
        LoanRecord,
        verbose_name=_("loan record"),
        on_delete=models.PROTECT,
        related_name="credit_report_corrections",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CorrectionKind.choices)
    status = models.CharField(
        _("status"), max_length=12, choices=CorrectionStatus.choices, default=CorrectionStatus.OPEN
    )
    reason = models.TextField(_("reason"))
    # Where it came from: "complaint:<reference>", "closure:<id>", "appeal:<reference>".
    origin = models.CharField(_("origin"), max_length=64, db_index=True)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    due_at = models.DateTimeField(_("settle by"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit-report correction")
        verbose_name_plural = _("credit-report corrections")
        indexes = [
            models.Index(
                fields=["due_at"],
                name="correction_open_due_idx",
                condition=Q(status__in=["open", "sent"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.origin})"


class AccountCredit(models.Model):
    """A ledger credit entry with its own reference (CR...), written by accounts.services.credits.

    A refund (what the customer had repaid on a reversed loan) or a compensation first pays
    down what is owed on the account's standing loans (`applied_amount`); the rest is held in
    the account's credit balance (`held_amount`). A payout takes `amount` out of the credit
    balance (applied and held both zero). `origin` names the case behind it, like the credit
    reports' ("complaint:<reference>")."""

    reference = models.CharField(_("reference"), max_length=32, unique=True)
    account = models.ForeignKey(
        CreditAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="credits"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=CreditKind.choices)
    amount = _money(_("amount"))
    applied_amount = _money(_("applied to what was owed"), default=ZERO)
    held_amount = _money(_("held in the credit balance"), default=ZERO)
    loan = models.ForeignKey(
        LoanRecord,
        verbose_name=_("loan record"),
        on_delete=models.PROTECT,
        related_name="credits",
        null=True,
        blank=True,
    )
    origin = models.CharField(_("origin"), max_length=64, blank=True, db_index=True)
    reason = models.TextField(_("reason"))
    created_by = models.ForeignKey(
        User, verbose_name=_("booked by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("booked"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("account credit")
        verbose_name_plural = _("account credits")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=CreditKind.values), name="credit_kind_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind=CreditKind.PAYOUT, applied_amount=0, held_amount=0)
                    | (
                        ~Q(kind=CreditKind.PAYOUT)
                        & Q(applied_amount__gte=0, held_amount__gte=0)
                        & Q(amount=models.F("applied_amount") + models.F("held_amount"))
                    )
                ),
                name="credit_split_adds_up",
            ),
        ]
        indexes = [models.Index(fields=["account", "-created_at"], name="credit_account_idx")]
        permissions = [("pay_out_credit", _("Can pay out an account's credit balance"))]

    def __str__(self) -> str:
        return self.reference


class BureauSubmission(models.Model):
    """One message to the credit bureau about an objection mark or a correction: an objection
    mark at intake, its outcome at decision (or withdrawal), a correction at decision. Written
    in the caller's transaction, sent by a worker at most once (accounts/bureau/services.py),
    with the time sent, the bureau's reference and the time it acknowledged."""

    correction = models.ForeignKey(
        CreditReportCorrection,
        verbose_name=_("objection or correction"),
        on_delete=models.PROTECT,
        related_name="bureau_submissions",
    )
    message = models.CharField(_("message"), max_length=20, choices=BureauMessage.choices)
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=ObjectionOutcome.choices, blank=True
    )
    status = models.CharField(
        _("status"), max_length=12, choices=BureauStatus.choices, default=BureauStatus.PENDING
    )
    payload = models.JSONField(_("message sent"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    bureau_reference = models.CharField(_("bureau's reference"), max_length=120, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("credit-bureau submission")
        verbose_name_plural = _("credit-bureau submissions")
        constraints = [
            # At most one live or delivered message of each kind per objection or correction.
            models.UniqueConstraint(
                fields=["correction", "message"],
                condition=~Q(status__in=["cancelled", "failed"]),
                name="bureau_one_message_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(status__in=BureauStatus.values), name="bureau_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="bureau_pending_idx",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["claimed_at"], name="bureau_sending_idx", condition=Q(status="sending")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_message_display()} #{self.pk} ({self.get_status_display()})"

    @property
    def our_reference(self) -> str:
        """Our idempotency reference for the bureau (stable per row)."""
        return f"bureau-{self.pk}"


# --- Repayment schedules and the overdue figures (accounts/schedules.py, accounts/delinquency.py)

from core.append_only import append_only_trigger  # noqa: E402 - used only below


class Installment(models.Model):
    """One due date of a loan's repayment schedule: what falls due on `due_on`, how much of it
    is paid, and the day it was paid in full. A purchase has one (after the account's
    interest-free days), an installment loan N monthly ones, a cash loan those of its terms.
    Repayments are allocated to installments oldest first (RepaymentAllocation)."""

    loan = models.ForeignKey(
        LoanRecord, verbose_name=_("loan record"), on_delete=models.PROTECT,
        related_name="installments",
    )  # fmt: skip
    # The loan's account, kept here so one account's schedule is one index range.
    account = models.ForeignKey(
        CreditAccount, verbose_name=_("account"), on_delete=models.PROTECT,
        related_name="installments", db_index=False,
    )  # fmt: skip
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    amount = _money(_("amount due"))
    paid_amount = _money(_("paid"), default=ZERO)
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["due_on", "loan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="installment_loan_number"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="installment_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0, paid_amount__lte=models.F("amount")),
                name="installment_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(paid_on__isnull=True, paid_amount__lt=models.F("amount"))
                | Q(paid_on__isnull=False, paid_amount=models.F("amount")),
                name="installment_paid_on_when_paid",
            ),
        ]
        indexes = [
            # What the overdue figures read: installments not paid on time, by account (the
            # per-account refresh and the batches of the full one). Paid-on-time ones, the bulk
            # of the table, are never read again.
            models.Index(
                fields=["account", "due_on"],
                name="installment_late_idx",
                condition=Q(paid_on__isnull=True) | Q(paid_on__gt=models.F("due_on")),
            ),  # fmt: skip
            # The incremental refresh: unpaid installments falling due since the last run...
            models.Index(
                fields=["due_on"],
                name="installment_unpaid_due_idx",
                condition=Q(paid_on__isnull=True),
            ),  # fmt: skip
            # ... and late payments leaving the 12-month window.
            models.Index(
                fields=["paid_on"],
                name="installment_paid_late_idx",
                condition=Q(paid_on__gt=models.F("due_on")),
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.loan_id}/{self.number} {self.due_on}"

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.paid_amount


class RepaymentAllocation(models.Model):
    """The part of a repayment that went to one installment (append-only)."""

    repayment = models.ForeignKey(
        Repayment, verbose_name=_("repayment"), on_delete=models.PROTECT,
        related_name="allocations",
    )  # fmt: skip
    installment = models.ForeignKey(
        Installment, verbose_name=_("installment"), on_delete=models.PROTECT,
        related_name="allocations",
    )  # fmt: skip
    amount = _money(_("amount"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("repayment allocation")
        verbose_name_plural = _("repayment allocations")
        # Append-only in the database (core/append_only.py): no UPDATE, no DELETE.
        triggers = [append_only_trigger()]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.repayment_id} -> {self.installment_id}: {self.amount}"


class AccountDelinquency(models.Model):
    """An account's overdue figures, derived from its schedules (accounts/delinquency.py):
    recomputable at any time, so no history; a refresh writes only the rows that changed.
    Disputed and reversed loans and loans whose collection is paused never count."""

    account = models.OneToOneField(
        CreditAccount, verbose_name=_("account"), on_delete=models.PROTECT, primary_key=True,
        related_name="delinquency",
    )  # fmt: skip
    # Installments paid after due date + grace within the last 12 months, or unpaid past it.
    overdue_count = models.PositiveIntegerField(_("overdue count (12 months)"), default=0)
    overdue_open = models.PositiveIntegerField(_("installments unpaid past due"), default=0)
    amount_past_due = _money(_("amount past due"), default=ZERO)
    oldest_past_due_on = models.DateField(_("oldest unpaid due date"), null=True, blank=True)
    changed_at = models.DateTimeField(_("figures changed"), default=timezone.now)

    class Meta:
        verbose_name = _("overdue figures")
        verbose_name_plural = _("overdue figures")
        indexes = [
            # The risk scan: accounts with overdue installments, by account id.
            models.Index(
                fields=["overdue_count"],
                name="delinquency_overdue_idx",
                condition=Q(overdue_count__gt=0),
            ),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.overdue_count}"


class DelinquencyRun(models.Model):
    """One run of `refresh_delinquency` (operational log, no history): the incremental run
    starts from the last finished one."""

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    as_of = models.DateField(_("figures as of"))
    incremental = models.BooleanField(_("incremental"), default=False)
    accounts = models.PositiveIntegerField(_("accounts recomputed"), default=0)
    changed = models.PositiveIntegerField(_("rows written"), default=0)

    class Meta:
        verbose_name = _("overdue refresh run")
        verbose_name_plural = _("overdue refresh runs")
        indexes = [models.Index(fields=["-finished_at"], name="delinquency_run_idx")]

    def __str__(self) -> str:
        return f"{self.as_of} ({self.accounts})"


# --- The partner-interface register (accounts/partners.py, accounts/services/partners.py)

from .enums import (  # noqa: E402 - the register's own enums, used only below
    PartnerAuditResult,
    PartnerChangeAction,
    PartnerChangeStatus,
    PartnerInterfaceStatus,
)


class PartnerInterface(models.Model):
    """A partner's data interface through which loans are applied for (seed 001: 数据接口管理不善,
    定期审计伙伴). The lending core's pre-check and the ledger feed check each loan against it
    (accounts/partners.py); a suspension or a resumption goes through PartnerInterfaceChange (four
    eyes). `permitted_kinds` and `permitted_channels` hold LoanKind / LoanChannel values."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    partner = models.CharField(_("partner"), max_length=120)
    permitted_kinds = models.JSONField(_("permitted loan kinds"), default=list, blank=True)
    permitted_channels = models.JSONField(_("permitted channels"), default=list, blank=True)
    max_amount = _money(_("maximum amount"))
    owner = models.ForeignKey(
        User, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )  # fmt: skip
    contract_reference = models.CharField(_("contract reference"), max_length=64, blank=True)
    last_audit_on = models.DateField(_("last audit"), null=True, blank=True)
    last_audit_result = models.CharField(
        _("last audit result"), max_length=12, choices=PartnerAuditResult.choices, blank=True
    )
    last_audit_note = models.TextField(_("last audit note"), blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=PartnerInterfaceStatus.choices,
        default=PartnerInterfaceStatus.ACTIVE,
    )  # fmt: skip
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner interface")
        verbose_name_plural = _("partner interfaces")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_amount__gt=0), name="partner_interface_max_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=PartnerInterfaceStatus.values),
                name="partner_interface_status_valid",
            ),
        ]
        permissions = [
            ("manage_partner_interface", _("Can register and update partner interfaces")),
            ("audit_partner_interface", _("Can record a partner interface audit")),
            ("propose_partner_interface_change", _("Can propose suspending or resuming a partner interface")),
            ("approve_partner_interface_change", _("Can approve suspending or resuming a partner interface")),
        ]  # fmt: skip

    def __str__(self) -> str:
        return self.code


class PartnerInterfaceChange(models.Model):
    """A proposal to suspend or resume a partner interface, approved or rejected by another person
    (four eyes, with step-up)."""

    interface = models.ForeignKey(
        PartnerInterface, verbose_name=_("partner interface"), on_delete=models.PROTECT,
        related_name="changes",
    )  # fmt: skip
    action = models.CharField(_("action"), max_length=8, choices=PartnerChangeAction.choices)
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=12, choices=PartnerChangeStatus.choices,
        default=PartnerChangeStatus.PENDING,
    )  # fmt: skip
    proposed_by = models.ForeignKey(
        User, verbose_name=_("proposed by"), on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed"), default=timezone.now)
    decided_by = models.ForeignKey(
        User, verbose_name=_("decided by"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("partner interface change")
        verbose_name_plural = _("partner interface changes")
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=PartnerChangeAction.values),
                name="partner_change_action_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PartnerChangeStatus.values),
                name="partner_change_status_valid",
            ),
            # At most one pending proposal per interface.
            models.UniqueConstraint(
                fields=["interface"],
                condition=Q(status="pending"),
                name="partner_change_one_pending",
            ),
            # Four eyes, in the database too.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="partner_change_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.interface_id} ({self.get_status_display()})"


# --- The ledger feed from the lending core (accounts/services/ingest.py) -----------------------


class LedgerImport(models.Model):
    """One file of `manage.py import_ledger` (operational log, no history): its identity and the
    byte offset after the last line committed, so a rerun continues where it stopped."""

    identity = models.CharField(_("file identity"), max_length=128, unique=True)
    path = models.CharField(_("file"), max_length=500)
    offset = models.BigIntegerField(_("bytes committed"), default=0)
    lines = models.BigIntegerField(_("lines committed"), default=0)
    accepted = models.BigIntegerField(_("items accepted"), default=0)
    refused = models.BigIntegerField(_("lines refused"), default=0)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("ledger import")
        verbose_name_plural = _("ledger imports")
        permissions = [("feed_ledger", _("Can book the lending core's ledger feed"))]

    def __str__(self) -> str:
        return self.path
