"""Intake of complaints (portal, API, phone and letter) and incident detection."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.enums import AccountStatus, CorrectionKind, LoanStatus
from accounts.models import CreditAccount, CreditReportCorrection, Customer, LoanRecord, User
from core import roles
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import clock
from ..enums import (
    AlertDimension,
    Category,
    Channel,
    EventType,
    Status,
)
from ..models import (
    Complaint,
    DisputedItem,
    IncidentAlert,
)
from .common import (
    INCIDENT_THRESHOLD,
    INCIDENT_WINDOW,
    _event,
    _notify_customer,
    _notify_staff,
    _reference,
    _require_perm,
)


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
) -> Complaint:
    """File a complaint (portal, API, or an agent entering a phone call or letter).

    For `unauthorized_loan`, in this transaction: each chosen loan becomes `disputed`
    (collection paused, no fees, out of overdue counting), an objection mark with a 20-day
    clock opens per loan, and with `account_compromised` the account is frozen and the
    customer signed out everywhere. The acknowledgement notice carries the reference.
    """
    errors: dict[str, list[str]] = {}
    if category not in Category.values:
        errors["category"] = [_("Choose a valid category.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a valid channel.")]
    if not (description or "").strip():
        errors["description"] = [_("Tell us what happened.")]
    loan_ids = sorted({int(i) for i in loan_record_ids})
    if category == Category.UNAUTHORIZED_LOAN and not loan_ids:
        errors["loan_records"] = [_("Choose the loan records you did not make.")]
    if (loan_ids or account_compromised) and account_id is None:
        errors["account"] = [_("Choose the account.")]
    if errors:
        raise ApplicationError(
            _("The complaint is not complete."), code="invalid", status=400, fields=errors
        )
    if channel in (Channel.PHONE, Channel.LETTER):
        _require_perm(actor, "complaints.work_complaint")

    account: CreditAccount | None = None
    if account_id is not None:
        account = account_selectors.account_for_update(account_id=account_id)
        if account.customer_id != customer.pk:
            raise ApplicationError(
                _("Choose one of your accounts."),
                code="invalid",
                status=400,
                fields={"account": [_("Not one of your accounts.")]},
            )
    loans: list[LoanRecord] = []
    if loan_ids:
        loans = list(
            LoanRecord.objects.select_for_update()
            .filter(pk__in=loan_ids, account_id=account_id)
            .order_by("pk")
        )
        if len(loans) != len(loan_ids):
            raise ApplicationError(
                _("Choose loan records of this account."),
                code="invalid",
                status=400,
                fields={"loan_records": [_("Not a loan record of this account.")]},
            )
        if category == Category.UNAUTHORIZED_LOAN:
            for loan in loans:
                if loan.status not in (LoanStatus.POSTED, LoanStatus.REPAID):
                    raise ApplicationError(
                        _("Loan record %(ref)s is already %(status)s.")
                        % {"ref": loan.reference, "status": loan.get_status_display()},
                        code="loan_not_disputable",
                        fields={"loan_records": [_("Already disputed or reversed.")]},
                    )

    now = received_at or timezone.now()
    complaint = Complaint(
        reference=_reference(),
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
    save_with_history(complaint, actor=actor, reason=reason)
    _event(
        complaint,
        EventType.RECEIVED,
        actor=actor,
        new=Status.RECEIVED,
        text=str(Channel(channel).label),
        visible=True,
        at=now,
    )

    for loan in loans:
        save_with_history(DisputedItem(complaint=complaint, loan=loan), actor=actor, reason=reason)
        if category == Category.UNAUTHORIZED_LOAN:
            old = loan.status
            account_services.loan_transition_check(loan, LoanStatus.DISPUTED)
            loan.status = LoanStatus.DISPUTED
            loan.collection_paused = True
            save_with_history(
                loan,
                actor=actor,
                reason=f"complaint:{complaint.reference}",
                update_fields=["status", "collection_paused"],
            )
            correction = CreditReportCorrection(
                account=account,
                loan=loan,
                kind=CorrectionKind.OBJECTION,
                reason=_("The customer disputes this loan record."),
                origin=f"complaint:{complaint.reference}",
                opened_at=now,
                due_at=clock.add_calendar_days(now, clock.OBJECTION_DAYS),
            )
            save_with_history(correction, actor=actor, reason=reason)
            _event(
                complaint,
                EventType.LOAN_DISPUTED,
                actor=actor,
                old=old,
                new=LoanStatus.DISPUTED,
                text=loan.reference,
                visible=True,
            )

    if account_compromised and account is not None:
        # Only an active account needs the hold (frozen already; closing/closed lend nothing).
        if account.status == AccountStatus.ACTIVE:
            account_services.account_freeze(
                actor=actor, reason=f"complaint:{complaint.reference}", account_id=account.pk
            )
        account_services.user_sessions_revoke(
            user=customer.user, actor=actor, reason=f"complaint:{complaint.reference}"
        )
        _event(complaint, EventType.ACCOUNT_FROZEN, actor=actor, visible=True)

    _notify_customer(complaint, "complaint.acknowledged", actor=actor)
    _event(complaint, EventType.ACKNOWLEDGED, actor=actor, visible=True)
    if category == Category.UNAUTHORIZED_LOAN:
        incident_check(actor=actor, loans=loans, now=now)
    return complaint


def incident_check(*, actor: User, loans: Iterable[LoanRecord], now: datetime) -> list:
    """Alert managers once per incident: >= 5 unauthorized-loan complaints within 24 h that
    share a partner interface or a merchant. A transaction-scoped advisory lock per value
    serialises concurrent intakes; "no alert for this value in the last 24 h" makes it once."""
    raised = []
    since = now - INCIDENT_WINDOW
    values = set()
    for loan in loans:
        if loan.partner_interface:
            values.add((AlertDimension.PARTNER_INTERFACE, loan.partner_interface))
        if loan.merchant:
            values.add((AlertDimension.MERCHANT, loan.merchant))
    for dimension, value in sorted(values):
        if connection.vendor == "postgresql":
            # (SQLite, under `make run`, has a single writer: nothing to serialise.)
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"incident:{dimension}:{value}"]
                )
        if IncidentAlert.objects.filter(
            dimension=dimension, value=value, raised_at__gte=since
        ).exists():
            continue
        loan_field = (
            "loan__partner_interface" if dimension == "partner_interface" else ("loan__merchant")
        )
        count = DisputedItem.objects.filter(
            complaint__category=Category.UNAUTHORIZED_LOAN,
            complaint__received_at__gte=since,
            **{loan_field: value},
        ).aggregate(n=Count("complaint_id", distinct=True))["n"]
        if count >= INCIDENT_THRESHOLD:
            alert = IncidentAlert(
                dimension=dimension, value=value, complaint_count=count, window_start=since
            )
            save_with_history(alert, actor=actor, reason="incident detection")
            _notify_staff(
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
