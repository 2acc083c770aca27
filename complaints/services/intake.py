"""Intake of complaints (portal, API, phone and letter) and incident detection.

A complaint about loans the customer did not make disputes each of them in the ledger
(accounts.services: `loan_dispute`, `objection_open`, `account_freeze`), in the same
transaction as the complaint, its disputed items and its case events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import locks as account_locks
from accounts import services as account_services
from accounts.enums import AccountStatus, LoanStatus
from accounts.models import CreditAccount, Customer, LoanRecord, User
from core import roles
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock, events
from ..enums import AlertDimension, Category, Channel, RegulatorSource
from ..models import Complaint, DisputedItem, IncidentAlert
from ..repeats import complaint_repeat_mark
from .common import (
    notify_customer,
    notify_staff,
    origin_of,
    recompute_due,
    reference_new,
    require_perm,
)


@dataclass(frozen=True)
class Referral:
    """A regulator's referral (the 12378 hotline, NFRA): who, their number, their deadline."""

    source: str
    number: str
    due_at: datetime | None = None


# Stored in the objection mark's own text, read later by staff and the bureau's file.
OBJECTION_TEXT = gettext_noop("The customer disputes this loan record.")
INCIDENT_REASON = gettext_noop("incident alert")
DISPUTABLE_LOAN_STATUSES = (LoanStatus.POSTED, LoanStatus.REPAID)
# An incident: this many unauthorized-loan complaints within the window sharing a value.
INCIDENT_THRESHOLD = 5
INCIDENT_WINDOW = timedelta(hours=24)


def _intake_check(
    *,
    category: str,
    channel: str,
    description: str,
    loan_ids: list[int],
    account_id: int | None,
    account_compromised: bool,
) -> None:
    """Refuse an incomplete complaint, naming each field."""
    errors: dict[str, list[str]] = {}
    if category not in Category.values:
        errors["category"] = [_("Choose a valid category.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a valid channel.")]
    if not (description or "").strip():
        errors["description"] = [_("Tell us what happened.")]
    if category == Category.UNAUTHORIZED_LOAN and not loan_ids:
        errors["loan_records"] = [_("Choose the loan records you did not make.")]
    if (loan_ids or account_compromised) and account_id is None:
        errors["account"] = [_("Choose the account.")]
    if errors:
        raise ApplicationError(
            _("The complaint is not complete."), code="invalid", status=400, fields=errors
        )


def _referral_check(*, channel: str, referral: Referral | None, received_at: datetime) -> None:
    """A regulator referral names its source and number, and its deadline is after receipt;
    only that channel carries one."""
    errors: dict[str, list[str]] = {}
    if channel != Channel.REGULATOR:
        if referral is not None:
            errors["channel"] = [_("Only a regulator referral carries a referral number.")]
    elif referral is None:
        errors["referral_number"] = [_("Give the regulator's referral number.")]
    else:
        if referral.source not in RegulatorSource.values:
            errors["regulator_source"] = [_("Choose who referred it.")]
        if not referral.number.strip():
            errors["referral_number"] = [_("Give the regulator's referral number.")]
        elif len(referral.number.strip()) > 64:
            errors["referral_number"] = [_("At most 64 characters.")]
        if referral.due_at is not None and referral.due_at <= received_at:
            errors["regulator_due_at"] = [_("The regulator's deadline must be after receipt.")]
    if errors:
        raise ApplicationError(
            _("The complaint is not complete."), code="invalid", status=400, fields=errors
        )


def _ledger_for_intake(
    *, customer: Customer, account_id: int | None, loan_ids: list[int], category: str
) -> tuple[CreditAccount | None, list[LoanRecord]]:
    """Lock the customer's account and the chosen loans (global order), refusing another's
    account, a loan of another account, and a loan that cannot be disputed."""
    if account_id is None:
        return None, []
    account = account_locks.account_for_update(account_id=account_id)
    if account.customer_id != customer.pk:
        raise ApplicationError(
            _("Choose one of your accounts."),
            code="invalid",
            status=400,
            fields={"account": [_("Not one of your accounts.")]},
        )
    loans = account_locks.loans_for_update(loan_ids=loan_ids, account_id=account_id)
    if len(loans) != len(loan_ids):
        raise ApplicationError(
            _("Choose loan records of this account."),
            code="invalid",
            status=400,
            fields={"loan_records": [_("Not a loan record of this account.")]},
        )
    for loan in loans:
        if category == Category.UNAUTHORIZED_LOAN and loan.status not in DISPUTABLE_LOAN_STATUSES:
            raise ApplicationError(
                _("Loan record %(ref)s is already %(status)s.")
                % {"ref": loan.reference, "status": loan.get_status_display()},
                code="loan_not_disputable",
                fields={"loan_records": [_("Already disputed or reversed.")]},
            )
    return account, loans


def _loan_dispute(
    complaint: Complaint, loan: LoanRecord, *, account: CreditAccount, actor: User, reason: str
) -> None:
    """The loan becomes `disputed` (collection paused) with a 20-day objection mark."""
    origin = origin_of(complaint)
    old_status = account_services.loan_dispute(loan=loan, actor=actor, reason=origin)
    account_services.objection_open(
        account=account,
        loan=loan,
        origin=origin,
        text=OBJECTION_TEXT,
        opened_at=complaint.received_at,
        due_at=clock.add_calendar_days(complaint.received_at, clock.OBJECTION_DAYS),
        actor=actor,
        reason=reason,
    )
    # Dated as the complaint (a call or letter entered later): the objection opens then too.
    events.loan_disputed_event(
        complaint=complaint,
        actor=actor,
        loan=loan,
        from_status=old_status,
        at=complaint.received_at,
    )


def _account_secure(complaint: Complaint, account: CreditAccount, *, actor: User) -> None:
    """The account may be compromised: freeze it and sign the customer out everywhere."""
    origin = origin_of(complaint)
    # Only an active account needs the hold (frozen already; closing/closed lend nothing).
    if account.status == AccountStatus.ACTIVE:
        account_services.account_freeze(actor=actor, reason=origin, account_id=account.pk)
    account_services.user_sessions_revoke(user=complaint.customer.user, actor=actor, reason=origin)
    events.account_frozen_event(complaint=complaint, actor=actor, at=complaint.received_at)


@transaction.atomic
def complaint_submit(
    *,
    actor: User,
    reason: str,
    customer: Customer,
    category: str,
    description: str,
    channel: str,
    account_id: int | None = None,
    loan_record_ids: Sequence[int] = (),
    account_compromised: bool = False,
    received_at: datetime | None = None,
    referral: Referral | None = None,
) -> Complaint:
    """File a complaint (portal, API, or an agent entering a phone call or letter).

    For `unauthorized_loan`, in this transaction: each chosen loan becomes `disputed`
    (collection paused, no fees, out of overdue counting), an objection mark with a 20-day
    clock opens per loan, and with `account_compromised` the account is frozen and the
    customer signed out everywhere. The acknowledgement notice carries the reference.

    A regulator referral (channel `regulator`, staff only) carries its `referral`; its
    deadline, when earlier than ours, is the case's. A repeat (same customer, account and
    category within 90 days) is linked to the earlier complaints (complaints/repeats.py).
    """
    loan_ids = sorted({int(i) for i in loan_record_ids})
    _intake_check(
        category=category,
        channel=channel,
        description=description,
        loan_ids=loan_ids,
        account_id=account_id,
        account_compromised=account_compromised,
    )
    now = received_at or timezone.now()
    _referral_check(channel=channel, referral=referral, received_at=now)
    if channel in (Channel.PHONE, Channel.LETTER, Channel.REGULATOR):
        require_perm(actor, "complaints.work_complaint")
    account, loans = _ledger_for_intake(
        customer=customer, account_id=account_id, loan_ids=loan_ids, category=category
    )
    complaint = Complaint(
        reference=reference_new(),
        customer=customer,
        account=account,
        category=category,
        channel=channel,
        description=description.strip(),
        account_compromised=account_compromised,
        received_at=now,
        acknowledged_at=timezone.now(),
        due_at=clock.add_calendar_days(now, clock.DECISION_DAYS),
    )
    if referral is not None:
        complaint.regulator_source = referral.source
        complaint.referral_number = referral.number.strip()
        complaint.regulator_due_at = referral.due_at
        recompute_due(complaint)
    # Linked to the earlier ones (same customer, account, category, 90 days), under the
    # account's lock taken above; recorded in the complaint's first history row.
    complaint_repeat_mark(complaint)
    save_with_history(complaint, actor=actor, reason=reason)
    events.complaint_received_event(complaint=complaint, actor=actor, at=now)
    for loan in loans:
        save_with_history(DisputedItem(complaint=complaint, loan=loan), actor=actor, reason=reason)
        if category == Category.UNAUTHORIZED_LOAN:
            _loan_dispute(complaint, loan, account=account, actor=actor, reason=reason)
    if account_compromised and account is not None:
        _account_secure(complaint, account, actor=actor)
    notify_customer(complaint, "complaint.acknowledged", actor=actor)
    events.complaint_acknowledged_event(complaint=complaint, actor=actor)
    if category == Category.UNAUTHORIZED_LOAN:
        incident_check(actor=actor, loans=loans, now=now)
    return complaint


def _incident_values(loans: Iterable[LoanRecord]) -> list[tuple[str, str]]:
    values = set()
    for loan in loans:
        if loan.partner_interface:
            values.add((AlertDimension.PARTNER_INTERFACE, loan.partner_interface))
        if loan.merchant:
            values.add((AlertDimension.MERCHANT, loan.merchant))
    return sorted(values)


def _incident_lock(dimension: str, value: str) -> None:
    if connection.vendor == "postgresql":
        # (SQLite, under `make run`, has a single writer: nothing to serialise.)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"incident:{dimension}:{value}"]
            )


def incident_check(*, actor: User, loans: Iterable[LoanRecord], now: datetime) -> list:
    """Alert managers once per incident: >= 5 unauthorized-loan complaints within 24 h that
    share a partner interface or a merchant. A transaction-scoped advisory lock per value
    serialises concurrent intakes; "no alert for this value in the last 24 h" makes it once."""
    raised = []
    since = now - INCIDENT_WINDOW
    for dimension, value in _incident_values(loans):
        _incident_lock(dimension, value)
        if IncidentAlert.objects.filter(
            dimension=dimension, value=value, raised_at__gte=since
        ).exists():
            continue
        loan_field = (
            "loan__partner_interface"
            if dimension == AlertDimension.PARTNER_INTERFACE
            else "loan__merchant"
        )
        count = DisputedItem.objects.filter(
            complaint__category=Category.UNAUTHORIZED_LOAN,
            complaint__received_at__gte=since,
            **{loan_field: value},
        ).aggregate(n=Count("complaint_id", distinct=True))["n"]
        if count < INCIDENT_THRESHOLD:
            continue
        alert = IncidentAlert(
            dimension=dimension, value=value, complaint_count=count, window_start=since
        )
        save_with_history(alert, actor=actor, reason=INCIDENT_REASON)
        notify_staff(
            "staff.incident_alert",
            actor=actor,
            obj=alert,
            role=roles.MANAGER,
            dimension=str(AlertDimension(dimension).label),
            value=value,
            count=count,
        )
        raised.append(alert)
    return raised
