"""Statuses, kinds and allowed transitions of the accounts domain (values fixed by CONTRACT.md)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", _("Simplified Chinese")
    EN = "en", _("English")


class AccountStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    CLOSING = "closing", _("Closing")
    CLOSED = "closed", _("Closed")


# from-state -> states it may move to (PRODUCT.md "Account states")
ACCOUNT_TRANSITIONS: dict[str, set[str]] = {
    AccountStatus.ACTIVE: {AccountStatus.FROZEN, AccountStatus.CLOSING, AccountStatus.CLOSED},
    AccountStatus.FROZEN: {AccountStatus.ACTIVE, AccountStatus.CLOSING, AccountStatus.CLOSED},
    AccountStatus.CLOSING: {AccountStatus.CLOSED, AccountStatus.ACTIVE},
    AccountStatus.CLOSED: {AccountStatus.ACTIVE},  # only through an upheld appeal
}

# Statuses in which new loans may be posted.
ACCOUNT_LENDING_STATUSES = {AccountStatus.ACTIVE}


class LoanKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    CASH = "cash", _("Cash withdrawal")
    INSTALLMENT = "installment", _("Installment")


class LoanChannel(models.TextChoices):
    APP = "app", _("Mobile app")
    WEB = "web", _("Website")
    PARTNER_API = "partner_api", _("Partner API")


class LoanStatus(models.TextChoices):
    POSTED = "posted", _("Posted")
    DISPUTED = "disputed", _("Disputed")
    REVERSED = "reversed", _("Reversed")
    REPAID = "repaid", _("Repaid")


LOAN_TRANSITIONS: dict[str, set[str]] = {
    LoanStatus.POSTED: {LoanStatus.DISPUTED, LoanStatus.REPAID, LoanStatus.REVERSED},
    LoanStatus.DISPUTED: {LoanStatus.POSTED, LoanStatus.REVERSED, LoanStatus.REPAID},
    LoanStatus.REPAID: {LoanStatus.DISPUTED, LoanStatus.REVERSED},
    LoanStatus.REVERSED: set(),
}


class AuthMethod(models.TextChoices):
    PASSWORD = "password", _("Password")
    SMS_CODE = "sms_code", _("SMS code")
    TOTP = "totp", _("Authenticator code (TOTP)")
    BIOMETRIC = "biometric", _("Biometric")
    PARTNER_TOKEN = "partner_token", _("Partner token")


# Methods an agent should treat as weak or static (seed 001: 简单密码或静态验证码).
WEAK_AUTH_METHODS = {AuthMethod.PASSWORD, AuthMethod.PARTNER_TOKEN}


class AuthOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")


class RepaymentChannel(models.TextChoices):
    BANK_CARD = "bank_card", _("Bank card")
    WALLET = "wallet", _("Wallet balance")
    TRANSFER = "transfer", _("Bank transfer")
    ADJUSTMENT = "adjustment", _("Adjustment")


class RiskSignalKind(models.TextChoices):
    OVERDUE = "overdue", _("Overdue")
    SUSPECTED_FRAUD = "suspected_fraud", _("Suspected fraud")
    SECURITY_BREACH = "security_breach", _("Security breach")
    POLICY = "policy", _("Platform policy")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class RiskSignalSource(models.TextChoices):
    RISK_ENGINE = "risk_engine", _("Risk engine")
    RISK_OFFICER = "risk_officer", _("Risk officer")
    AGENT = "agent", _("Support agent")
    SYSTEM = "system", _("System")


class RiskSignalStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    OVERRULED = "overruled", _("Overruled")


class CorrectionKind(models.TextChoices):
    OBJECTION = "objection", _("Objection mark")
    CORRECTION = "correction", _("Correction")


class CorrectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SENT = "sent", _("Sent to the credit bureau")
    SETTLED = "settled", _("Settled")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class CreditKind(models.TextChoices):
    """A ledger credit entry (accounts.services.credits): money the account gives back."""

    REFUND = "refund", _("Refund")
    COMPENSATION = "compensation", _("Compensation")
    PAYOUT = "payout", _("Payout of the credit balance")
    # A booked repayment beyond what was owed (accounts/services/ingest.py): held, flagged.
    OVERPAYMENT = "overpayment", _("Overpayment")


# --- The partner-interface register (accounts/partners.py, accounts/services/partners.py)


class PartnerInterfaceStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    RETIRED = "retired", _("Retired")


class PartnerAuditResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FINDINGS = "findings", _("Passed with findings")
    FAILED = "failed", _("Did not pass")


class PartnerChangeAction(models.TextChoices):
    SUSPEND = "suspend", _("Suspension")
    RESUME = "resume", _("Resumption")


class PartnerChangeStatus(models.TextChoices):
    PENDING = "pending", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


# What the register answers for a loan (CONTRACT.md "Lending core", the pre-check's `code`).
INTERFACE_SUSPENDED = "interface_suspended"
INTERFACE_NOT_PERMITTED = "interface_not_permitted"
