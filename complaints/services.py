"""Every write of the complaints domain. One transaction per function: lock the rows (pk order),
check the allowed-from state under the lock, save with history, write the case event, enqueue
the notices in the same transaction (PRODUCT.md, STYLE.md)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.enums import CorrectionKind, CorrectionStatus, LoanStatus
from accounts.models import CreditAccount, CreditReportCorrection, Customer, LoanRecord, User
from backoffice import roles
from backoffice.audit import save_with_history
from backoffice.errors import ApplicationError, Forbidden
from backoffice.stepup import stepup_require

from . import clock
from .enums import (
    OPEN_STATUSES,
    TRANSITIONS,
    AlertDimension,
    Category,
    Channel,
    EventType,
    ItemOutcome,
    Outcome,
    ReviewOutcome,
    ReviewStatus,
    RootCause,
    Status,
)
from .models import (
    ZERO,
    CaseEvent,
    Compensation,
    Complaint,
    DisputedItem,
    IncidentAlert,
    InternalNote,
    VerificationRequest,
)

INCIDENT_THRESHOLD = 5
INCIDENT_WINDOW = timedelta(hours=24)


# --- Helpers ------------------------------------------------------------------------------------


def _reference() -> str:
    return f"CP{timezone.localdate():%Y%m%d}{secrets.token_hex(4).upper()}"


def complaint_for_update(*, complaint_id: int) -> Complaint:
    try:
        return Complaint.objects.select_for_update().get(pk=complaint_id)
    except Complaint.DoesNotExist as exc:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404) from exc


def _transition(complaint: Complaint, new_status: str) -> str:
    old = complaint.status
    if new_status not in TRANSITIONS[old]:
        raise ApplicationError(
            _("The complaint cannot go from %(old)s to %(new)s.")
            % {"old": complaint.get_status_display(), "new": Status(new_status).label},
            code="invalid_complaint_transition",
        )
    complaint.status = new_status
    return old


def _event(
    complaint: Complaint,
    type: str,
    *,
    actor: User,
    old: str = "",
    new: str = "",
    text: str = "",
    visible: bool = False,
    at: datetime | None = None,
) -> CaseEvent:
    event = CaseEvent(
        complaint=complaint,
        type=type,
        actor=actor,
        old=str(old)[:64],
        new=str(new)[:64],
        text=text,
        customer_visible=visible,
        at=at or timezone.now(),
    )
    save_with_history(event, actor=actor, reason=str(EventType(type).label))
    return event


def _require_perm(actor: User, perm: str) -> None:
    if not (actor.is_active and actor.is_staff and actor.has_perm(perm)):
        raise Forbidden(_("You are not allowed to do this."), code="forbidden")


def _context(complaint: Complaint, **extra) -> dict:
    return {
        "reference": complaint.reference,
        "category": complaint.get_category_display(),
        "due_at": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M"),
        "url": f"{settings.PORTAL_BASE_URL}/portal/complaints/{complaint.reference}/",
        **extra,
    }


def _notify_customer(complaint: Complaint, event: str, *, actor: User, key: str = "", **extra):
    from backoffice.notices.services import notice_enqueue

    return notice_enqueue(
        event=event,
        recipient=complaint.customer.user,
        context=_context(complaint, **extra),
        actor=actor,
        obj=complaint,
        key=key,
    )


def _notify_staff(event: str, *, actor: User, obj=None, role=None, user=None, key="", **ctx):
    from backoffice.notices.services import notice_enqueue_staff

    return notice_enqueue_staff(
        event=event, context=ctx, actor=actor, role=role, user=user, obj=obj, key=key
    )


def _recompute_due(complaint: Complaint) -> None:
    complaint.due_at = clock.add_calendar_days(
        complaint.received_at, complaint.clock_days + complaint.paused_days
    )


# --- Intake -------------------------------------------------------------------------------------


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


# --- Assignment and notes -----------------------------------------------------------------------


def complaint_staff_with_stake(*, complaint: Complaint) -> set[int]:
    """Staff who may not handle this case (conflict of interest)."""
    stake: set[int] = set()
    if complaint.category == Category.CLOSURE and complaint.account_id:
        try:
            from closures.selectors import closure_staff_with_stake
        except ImportError:
            closure_staff_with_stake = None
        if closure_staff_with_stake is not None:
            stake |= set(closure_staff_with_stake(account_id=complaint.account_id))
    return stake


@transaction.atomic
def complaint_assign(*, complaint_id: int, assignee: User, actor: User, reason: str) -> Complaint:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("Only open complaints can be assigned."), code="not_open")
    if not (
        assignee.is_active and assignee.is_staff and assignee.has_perm("complaints.work_complaint")
    ):
        raise ApplicationError(_("That user cannot work complaints."), code="invalid_assignee")
    if assignee.pk in complaint_staff_with_stake(complaint=complaint):
        raise ApplicationError(
            _("%(user)s has a stake in this case and cannot handle it.")
            % {"user": assignee.get_username()},
            code="conflict_of_interest",
        )
    old_assignee = complaint.assignee.get_username() if complaint.assignee_id else ""
    complaint.assignee = assignee
    fields = ["assignee"]
    old_status = complaint.status
    if complaint.status == Status.RECEIVED:
        _transition(complaint, Status.INVESTIGATING)
        fields.append("status")
    save_with_history(complaint, actor=actor, reason=reason, update_fields=fields)
    _event(
        complaint, EventType.ASSIGNED, actor=actor, old=old_assignee, new=assignee.get_username()
    )
    if old_status != complaint.status:
        _event(
            complaint,
            EventType.ASSIGNED,
            actor=actor,
            old=old_status,
            new=complaint.status,
            visible=True,
        )
    return complaint


@transaction.atomic
def complaint_note_add(
    *, complaint_id: int, actor: User, text: str, reason: str = ""
) -> InternalNote:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if not text.strip():
        raise ApplicationError(
            _("Write the note."), code="invalid", status=400, fields={"text": [_("Required.")]}
        )
    note = InternalNote(complaint=complaint, author=actor, text=text.strip())
    save_with_history(note, actor=actor, reason=reason or "note")
    _event(complaint, EventType.NOTE, actor=actor, text=text.strip()[:200])
    return note


@transaction.atomic
def complaint_message_send(*, complaint_id: int, actor: User, text: str) -> CaseEvent:
    """A message to the customer (shown in their timeline and sent to them), apart from the
    internal notes they never see."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if not text.strip():
        raise ApplicationError(
            _("Write the message."), code="invalid", status=400, fields={"text": [_("Required.")]}
        )
    event = _event(complaint, EventType.MESSAGE, actor=actor, text=text.strip(), visible=True)
    _notify_customer(
        complaint, "complaint.message", actor=actor, key=str(event.pk), message=text.strip()
    )
    return event


# --- Clocks ---------------------------------------------------------------------------------


def _require_clock_running(complaint: Complaint) -> None:
    if complaint.status not in OPEN_STATUSES:
        raise ApplicationError(_("The complaint is not open."), code="not_open")


@transaction.atomic
def complaint_extend(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """The agent extends the decision clock from 15 to 30 days, with a reason."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if not reason.strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    if complaint.clock_days >= clock.EXTENDED_DAYS:
        raise ApplicationError(
            _("Already extended; a further extension needs a manager's approval."),
            code="already_extended",
        )
    return _apply_extension(complaint, clock.EXTENDED_DAYS, actor=actor, reason=reason)


def _apply_extension(complaint: Complaint, days: int, *, actor: User, reason: str) -> Complaint:
    old_due = complaint.due_at
    complaint.clock_days = days
    _recompute_due(complaint)
    complaint.extension_requested_by = None
    complaint.extension_request_reason = ""
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=[
            "clock_days",
            "due_at",
            "extension_requested_by",
            "extension_request_reason",
        ],
    )
    _event(
        complaint,
        EventType.EXTENDED,
        actor=actor,
        old=old_due.isoformat(),
        new=complaint.due_at.isoformat(),
        text=reason,
        visible=True,
    )
    _notify_customer(complaint, "complaint.extended", actor=actor, key=str(days), reason=reason)
    return complaint


@transaction.atomic
def complaint_extension_request(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """Ask a manager to extend to 60 days."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if complaint.clock_days != clock.EXTENDED_DAYS:
        raise ApplicationError(
            _("Only a complaint extended to 30 days can be extended further."),
            code="not_extended",
        )
    if complaint.extension_requested_by_id:
        raise ApplicationError(_("A further extension is already requested."), code="pending")
    if not reason.strip():
        raise ApplicationError(
            _("Give the reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    complaint.extension_requested_by = actor
    complaint.extension_request_reason = reason.strip()
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["extension_requested_by", "extension_request_reason"],
    )
    _event(complaint, EventType.EXTENSION_REQUESTED, actor=actor, text=reason)
    return complaint


@transaction.atomic
def complaint_extension_approve(
    *, complaint_id: int, actor: User, reason: str, approve: bool = True
) -> Complaint:
    _require_perm(actor, "complaints.approve_extension")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if not complaint.extension_requested_by_id:
        raise ApplicationError(_("No further extension is requested."), code="no_request")
    if complaint.extension_requested_by_id == actor.pk:
        raise ApplicationError(_("You cannot approve your own request."), code="maker_checker")
    if approve:
        text = f"{complaint.extension_request_reason} / {reason}"
        return _apply_extension(complaint, clock.MAX_EXTENDED_DAYS, actor=actor, reason=text)
    complaint.extension_requested_by = None
    complaint.extension_request_reason = ""
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["extension_requested_by", "extension_request_reason"],
    )
    _event(complaint, EventType.EXTENSION_REFUSED, actor=actor, text=reason)
    return complaint


@transaction.atomic
def complaint_pause(
    *, complaint_id: int, actor: User, reason: str, pause_reason: str, now: datetime | None = None
) -> Complaint:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    _require_clock_running(complaint)
    if complaint.paused_at is not None:
        raise ApplicationError(_("The clock is already paused."), code="already_paused")
    complaint.paused_at = now or timezone.now()
    complaint.pause_reason = pause_reason
    save_with_history(
        complaint, actor=actor, reason=reason, update_fields=["paused_at", "pause_reason"]
    )
    _event(complaint, EventType.PAUSED, actor=actor, new=pause_reason, text=reason, visible=True)
    _notify_customer(
        complaint,
        "complaint.paused",
        actor=actor,
        key=complaint.paused_at.isoformat(),
        reason=reason,
        pause_reason=complaint.get_pause_reason_display(),
    )
    return complaint


@transaction.atomic
def complaint_resume(
    *, complaint_id: int, actor: User, reason: str, now: datetime | None = None
) -> Complaint:
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.paused_at is None:
        raise ApplicationError(_("The clock is not paused."), code="not_paused")
    now = now or timezone.now()
    days = clock.pause_days(clock.Pause(complaint.paused_at, now), now=now)
    old_due = complaint.due_at
    complaint.paused_days += days
    complaint.paused_at = None
    complaint.pause_reason = ""
    _recompute_due(complaint)
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=["paused_days", "paused_at", "pause_reason", "due_at"],
    )
    _event(
        complaint,
        EventType.RESUMED,
        actor=actor,
        old=old_due.isoformat(),
        new=complaint.due_at.isoformat(),
        text=reason,
        visible=True,
    )
    _notify_customer(
        complaint, "complaint.resumed", actor=actor, key=now.isoformat(), reason=reason
    )
    return complaint


# --- Decision -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemDecision:
    item_id: int
    outcome: str
    reasons: str


def _reversal_total(items: Iterable[DisputedItem]) -> Decimal:
    return sum((i.loan.amount for i in items if i.outcome == ItemOutcome.UPHELD), ZERO)


@transaction.atomic
def complaint_decide(
    *,
    complaint_id: int,
    actor: User,
    reason: str,
    decision_text: str,
    root_cause: str,
    item_decisions: Sequence[ItemDecision] = (),
    compensation_amount: Decimal | None = None,
    compensation_reason: str = "",
    outcome: str | None = None,
) -> Complaint:
    """Draft the decision (one outcome per disputed record, reasons, root cause, optional
    compensation). It applies at once, or waits for a reviewer's approval when the reversal
    exceeds DECISION_APPROVAL_THRESHOLD in total or compensation is paid."""
    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status not in (Status.RECEIVED, Status.INVESTIGATING):
        raise ApplicationError(
            _("A decision can only be drafted while the complaint is being investigated."),
            code="invalid_complaint_transition",
        )
    if actor.pk in complaint_staff_with_stake(complaint=complaint):
        raise ApplicationError(_("You have a stake in this case."), code="conflict_of_interest")
    errors: dict[str, list[str]] = {}
    if not decision_text.strip():
        errors["decision_text"] = [_("Required.")]
    if root_cause not in RootCause.values:
        errors["root_cause"] = [_("Choose a root cause.")]
    items = list(
        DisputedItem.objects.select_for_update()
        .filter(complaint=complaint)
        .select_related("loan")
        .order_by("pk")
    )
    by_id = {d.item_id: d for d in item_decisions}
    for item in items:
        d = by_id.get(item.pk)
        if d is None or d.outcome not in ItemOutcome.values:
            errors[f"item_{item.pk}"] = [_("Decide this loan record.")]
        elif not d.reasons.strip():
            errors[f"item_{item.pk}"] = [_("Give the reasons.")]
    if set(by_id) - {i.pk for i in items}:
        errors["items"] = [_("Unknown disputed record.")]
    if compensation_amount is not None and compensation_amount <= 0:
        errors["compensation_amount"] = [_("Must be more than zero.")]
    if compensation_amount is not None and not compensation_reason.strip():
        errors["compensation_reason"] = [_("Required.")]
    if not items and outcome not in (Outcome.UPHELD, Outcome.PARTIALLY_UPHELD, Outcome.REJECTED):
        errors["outcome"] = [_("Choose the outcome.")]
    if errors:
        raise ApplicationError(
            _("The decision is not complete."), code="invalid", status=400, fields=errors
        )
    for item in items:
        d = by_id[item.pk]
        item.outcome = d.outcome
        item.reasons = d.reasons.strip()
        save_with_history(item, actor=actor, reason=reason, update_fields=["outcome", "reasons"])
    if items:
        upheld = sum(1 for i in items if i.outcome == ItemOutcome.UPHELD)
        outcome = (
            Outcome.UPHELD
            if upheld == len(items)
            else Outcome.REJECTED
            if upheld == 0
            else Outcome.PARTIALLY_UPHELD
        )
    if compensation_amount is not None:
        comp = Compensation.objects.filter(complaint=complaint).first()
        if comp is None:
            comp = Compensation(complaint=complaint, proposed_by=actor)
        comp.amount = compensation_amount
        comp.reason = compensation_reason.strip()
        comp.proposed_by = actor
        save_with_history(comp, actor=actor, reason=reason)
    else:
        comp = None
    complaint.decision_text = decision_text.strip()
    complaint.root_cause = root_cause
    complaint.outcome = outcome
    complaint.drafted_by = actor
    complaint.approved_by = None
    old = complaint.status
    needs_approval = (
        _reversal_total(items) > settings.DECISION_APPROVAL_THRESHOLD or comp is not None
    )
    _event(complaint, EventType.DRAFTED, actor=actor, new=outcome, text=reason)
    if needs_approval:
        _transition(complaint, Status.PENDING_APPROVAL)
        save_with_history(
            complaint,
            actor=actor,
            reason=reason,
            update_fields=[
                "decision_text",
                "root_cause",
                "outcome",
                "drafted_by",
                "approved_by",
                "status",
            ],
        )
        _event(complaint, EventType.SUBMITTED, actor=actor, old=old, new=complaint.status)
        _notify_staff(
            "staff.decision_approval",
            actor=actor,
            obj=complaint,
            role=roles.REVIEWER,
            key=timezone.now().isoformat(),
            reference=complaint.reference,
        )
        return complaint
    return _decision_apply(complaint, items, actor=actor, reason=reason, old_status=old)


def _decision_apply(
    complaint: Complaint,
    items: list[DisputedItem],
    *,
    actor: User,
    reason: str,
    old_status: str,
) -> Complaint:
    now = timezone.now()
    origin = f"complaint:{complaint.reference}"
    if items:
        account = account_selectors.account_for_update(account_id=items[0].loan.account_id)
        loans = {
            loan.pk: loan
            for loan in LoanRecord.objects.select_for_update()
            .filter(pk__in=[i.loan_id for i in items])
            .order_by("pk")
        }
        objections = {
            c.loan_id: c
            for c in CreditReportCorrection.objects.select_for_update()
            .filter(origin=origin, kind=CorrectionKind.OBJECTION, loan_id__in=list(loans))
            .order_by("pk")
        }
        restored = ZERO
        for item in items:
            loan = loans[item.loan_id]
            if item.outcome == ItemOutcome.UPHELD:
                account_services.loan_transition_check(loan, LoanStatus.REVERSED)
                item.reversed_outstanding = loan.outstanding_amount
                item.refunded_repaid = loan.amount - loan.outstanding_amount
                item.refunded_fees = loan.fees
                item.refunded_interest = loan.interest
                restored += loan.outstanding_amount
                loan.status = LoanStatus.REVERSED
                loan.outstanding_amount = ZERO
                loan.fees = ZERO
                loan.interest = ZERO
                loan.collection_paused = True
                save_with_history(
                    loan,
                    actor=actor,
                    reason=origin,
                    update_fields=[
                        "status",
                        "outstanding_amount",
                        "fees",
                        "interest",
                        "collection_paused",
                    ],
                )
                correction = CreditReportCorrection(
                    account=account,
                    loan=loan,
                    kind=CorrectionKind.CORRECTION,
                    reason=item.reasons,
                    origin=origin,
                    due_at=clock.add_calendar_days(complaint.received_at, clock.OBJECTION_DAYS),
                )
                save_with_history(correction, actor=actor, reason=reason)
                _event(
                    complaint,
                    EventType.LOAN_REVERSED,
                    actor=actor,
                    old=LoanStatus.DISPUTED,
                    new=LoanStatus.REVERSED,
                    text=loan.reference,
                    visible=True,
                )
            elif loan.status == LoanStatus.DISPUTED:
                # Rejected: the record stands again; collection resumes.
                loan.status = (
                    LoanStatus.POSTED if loan.outstanding_amount > 0 else (LoanStatus.REPAID)
                )
                loan.collection_paused = False
                save_with_history(
                    loan, actor=actor, reason=origin, update_fields=["status", "collection_paused"]
                )
            item.applied_at = now
            save_with_history(
                item,
                actor=actor,
                reason=reason,
                update_fields=[
                    "reversed_outstanding",
                    "refunded_repaid",
                    "refunded_fees",
                    "refunded_interest",
                    "applied_at",
                ],
            )
            objection = objections.get(loan.pk)
            if objection is not None and objection.status in (
                CorrectionStatus.OPEN,
                CorrectionStatus.SENT,
            ):
                objection.status = CorrectionStatus.SETTLED
                objection.settled_at = now
                save_with_history(
                    objection, actor=actor, reason=reason, update_fields=["status", "settled_at"]
                )
        if restored:
            account.outstanding_balance -= restored
            account.available_credit = min(
                account.credit_limit, account.available_credit + restored
            )
            save_with_history(
                account,
                actor=actor,
                reason=origin,
                update_fields=["outstanding_balance", "available_credit"],
            )
    comp = Compensation.objects.select_for_update().filter(complaint=complaint).first()
    if comp is not None and comp.paid_at is None:
        comp.paid_at = now
        save_with_history(comp, actor=actor, reason=reason, update_fields=["paid_at"])

    _transition(complaint, Status.DECIDED)
    complaint.decided_at = now
    complaint.paused_at = None
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=[
            "status",
            "decided_at",
            "decision_text",
            "root_cause",
            "outcome",
            "drafted_by",
            "approved_by",
            "paused_at",
        ],
    )
    _event(
        complaint,
        EventType.DECIDED,
        actor=actor,
        old=old_status,
        new=complaint.outcome,
        text=complaint.decision_text,
        visible=True,
    )
    lines = []
    trails = _trail_summaries([i.loan_id for i in items if i.outcome == ItemOutcome.REJECTED])
    for item in items:
        line = (
            f"{item.loan.reference} ({item.loan.amount}): "
            f"{ItemOutcome(item.outcome).label} - {item.reasons}"
        )
        if item.outcome == ItemOutcome.REJECTED and trails.get(item.loan_id):
            # Rejected: tell the customer which evidence shows they authorized it.
            line += " | " + _("Authorization on record: %(trail)s") % {
                "trail": "; ".join(trails[item.loan_id])
            }
        lines.append(line)
    _notify_customer(
        complaint,
        "complaint.decided",
        actor=actor,
        key=now.isoformat(),
        outcome=str(Outcome(complaint.outcome).label),
        decision_text=complaint.decision_text,
        items=lines,
        compensation=str(comp.amount) if comp is not None else "",
        review_deadline=timezone.localtime(
            clock.add_calendar_days(now, clock.REVIEW_WINDOW_DAYS)
        ).strftime("%Y-%m-%d"),
    )
    return complaint


def _trail_summaries(loan_ids: list[int]) -> dict[int, list[str]]:
    from accounts.models import AuthorizationEvent

    out: dict[int, list[str]] = {}
    if not loan_ids:
        return out
    for e in AuthorizationEvent.objects.filter(loan_id__in=loan_ids).order_by("occurred_at", "pk"):
        out.setdefault(e.loan_id, []).append(
            f"{timezone.localtime(e.occurred_at):%Y-%m-%d %H:%M} {e.get_method_display()} / "
            f"{e.get_channel_display()}"
            + (f" / {e.device_id}" if e.device_id else "")
            + (f" / {e.consent_reference}" if e.consent_reference else "")
        )
    return out


@transaction.atomic
def complaint_decision_approve(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """A reviewer (not the drafter, with a fresh one-time code) approves: the decision applies."""
    _require_perm(actor, "complaints.approve_decision")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status != Status.PENDING_APPROVAL:
        raise ApplicationError(
            _("This decision is not waiting for approval."), code="invalid_complaint_transition"
        )
    if complaint.drafted_by_id == actor.pk:
        raise ApplicationError(
            _("The drafter of a decision cannot approve it."), code="maker_checker", status=403
        )
    stepup_require(actor=actor)
    complaint.approved_by = actor
    _event(complaint, EventType.APPROVED, actor=actor, text=reason)
    items = list(
        DisputedItem.objects.select_for_update()
        .filter(complaint=complaint)
        .select_related("loan")
        .order_by("pk")
    )
    return _decision_apply(
        complaint, items, actor=actor, reason=reason, old_status=Status.PENDING_APPROVAL
    )


@transaction.atomic
def complaint_decision_return(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    _require_perm(actor, "complaints.approve_decision")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status != Status.PENDING_APPROVAL:
        raise ApplicationError(
            _("This decision is not waiting for approval."), code="invalid_complaint_transition"
        )
    if complaint.drafted_by_id == actor.pk:
        raise ApplicationError(
            _("The drafter of a decision cannot review it."), code="maker_checker", status=403
        )
    if not reason.strip():
        raise ApplicationError(
            _("Say what to change."),
            code="invalid",
            status=400,
            fields={"reason": [_("Required.")]},
        )
    old = _transition(complaint, Status.INVESTIGATING)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status"])
    _event(complaint, EventType.RETURNED, actor=actor, old=old, new=complaint.status, text=reason)
    if complaint.drafted_by_id:
        _notify_staff(
            "staff.decision_returned",
            actor=actor,
            obj=complaint,
            user=complaint.drafted_by,
            key=timezone.now().isoformat(),
            reference=complaint.reference,
            reason=reason,
        )
    return complaint


@transaction.atomic
def complaint_close(*, complaint_id: int, actor: User, reason: str) -> Complaint:
    """Close a decided case, only once its decision notice was actually delivered."""
    from backoffice.notices.services import notice_is_delivered

    _require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.status != Status.DECIDED:
        raise ApplicationError(
            _("Only a decided complaint can be closed."), code="invalid_complaint_transition"
        )
    answer_event = (
        "complaint.review_decided"
        if complaint.reviews.filter(status=ReviewStatus.DECIDED).exists()
        else "complaint.decided"
    )
    if not notice_is_delivered(event=answer_event, obj=complaint):
        raise ApplicationError(
            _("The decision notice has not been delivered to the customer yet."),
            code="notice_undelivered",
        )
    if complaint.reviews.filter(status=ReviewStatus.SUBMITTED).exists():
        raise ApplicationError(_("A review is still open."), code="review_open")
    old = _transition(complaint, Status.CLOSED)
    complaint.closed_at = timezone.now()
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status", "closed_at"])
    _event(complaint, EventType.CLOSED, actor=actor, old=old, new=complaint.status, visible=True)
    return complaint


# --- Review (核查) ----------------------------------------------------------------------------


@transaction.atomic
def review_request(
    *, complaint_id: int, actor: User, grounds: str, now: datetime | None = None
) -> VerificationRequest:
    """The customer asks for a review within 30 days of the decision."""
    complaint = complaint_for_update(complaint_id=complaint_id)
    if complaint.customer.user_id != actor.pk:
        raise ApplicationError(_("No such complaint."), code="not_found", status=404)
    if not grounds.strip():
        raise ApplicationError(
            _("Tell us why."), code="invalid", status=400, fields={"grounds": [_("Required.")]}
        )
    now = now or timezone.now()
    if complaint.status != Status.DECIDED or complaint.decided_at is None:
        raise ApplicationError(
            _("A review can be asked for once the complaint is decided."), code="not_decided"
        )
    if not clock.within_window(complaint.decided_at, clock.REVIEW_WINDOW_DAYS, now=now):
        raise ApplicationError(
            _("The 30 days for asking for a review have passed."), code="review_window_closed"
        )
    if complaint.reviews.exists():
        raise ApplicationError(_("A review was already asked for."), code="review_exists")
    review = VerificationRequest(
        complaint=complaint,
        grounds=grounds.strip(),
        received_at=now,
        due_at=clock.add_calendar_days(now, clock.REVIEW_DECISION_DAYS),
    )
    save_with_history(review, actor=actor, reason="review requested")
    old = _transition(complaint, Status.UNDER_REVIEW)
    save_with_history(complaint, actor=actor, reason="review requested", update_fields=["status"])
    _event(
        complaint,
        EventType.REVIEW_REQUESTED,
        actor=actor,
        old=old,
        new=complaint.status,
        text=grounds.strip(),
        visible=True,
    )
    _notify_customer(
        complaint,
        "complaint.review_received",
        actor=actor,
        review_due_at=timezone.localtime(review.due_at).strftime("%Y-%m-%d"),
    )
    return review


def review_staff_excluded(*, complaint: Complaint) -> set[int]:
    """Staff who took part in the decision cannot handle its review."""
    ids = {complaint.assignee_id, complaint.drafted_by_id, complaint.approved_by_id}
    ids |= set(
        complaint.events.filter(
            type__in=[EventType.DRAFTED, EventType.APPROVED, EventType.RETURNED]
        ).values_list("actor_id", flat=True)
    )
    ids |= complaint_staff_with_stake(complaint=complaint)
    ids.discard(None)
    return ids


@transaction.atomic
def review_decide(
    *, review_id: int, actor: User, reason: str, outcome: str, decision_text: str
) -> VerificationRequest:
    _require_perm(actor, "complaints.decide_review")
    review = VerificationRequest.objects.select_for_update().get(pk=review_id)
    complaint = complaint_for_update(complaint_id=review.complaint_id)
    if review.status != ReviewStatus.SUBMITTED:
        raise ApplicationError(_("This review is already decided."), code="already_decided")
    if actor.pk in review_staff_excluded(complaint=complaint):
        raise ApplicationError(
            _("You took part in the decision and cannot handle its review."),
            code="conflict_of_interest",
        )
    if outcome not in ReviewOutcome.values or not decision_text.strip():
        raise ApplicationError(
            _("The review decision is not complete."),
            code="invalid",
            status=400,
            fields={"decision_text": [_("Required.")]},
        )
    review.status = ReviewStatus.DECIDED
    review.outcome = outcome
    review.decision_text = decision_text.strip()
    review.handler = actor
    review.decided_at = timezone.now()
    save_with_history(
        review,
        actor=actor,
        reason=reason,
        update_fields=["status", "outcome", "decision_text", "handler", "decided_at"],
    )
    old = _transition(complaint, Status.DECIDED)
    save_with_history(complaint, actor=actor, reason=reason, update_fields=["status"])
    _event(
        complaint,
        EventType.REVIEW_DECIDED,
        actor=actor,
        old=old,
        new=outcome,
        text=review.decision_text,
        visible=True,
    )
    _notify_customer(
        complaint,
        "complaint.review_decided",
        actor=actor,
        outcome=str(ReviewOutcome(outcome).label),
        decision_text=review.decision_text,
    )
    return review
