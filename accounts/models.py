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

from .enums import (
    AccountStatus,
    AuthMethod,
    AuthOutcome,
    CorrectionKind,
    CorrectionStatus,
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
    overdue_count = models.PositiveIntegerField(_("overdue count"), default=0)
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
            # Serves the risk scan: open accounts at or over the overdue threshold.
            models.Index(
                fields=["overdue_count"],
                name="account_overdue_open_idx",
                condition=Q(overdue_count__gt=0, status__in=["active", "frozen"]),
            ),
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
