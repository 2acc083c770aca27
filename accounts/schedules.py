"""Repayment schedules: what a loan falls due as, and how money paid in is allocated to it.

The model (README "Repayment schedules and overdue"):

- Every loan carries a schedule of installments (`Installment`), written when it is posted:
  a purchase is due once, after the account's interest-free days; an installment loan in N
  monthly installments (N given when it is posted, default `INSTALLMENT_DEFAULT_MONTHS`), the
  last one taking the cents that do not divide; a cash loan on its terms (its due date, else
  `CASH_LOAN_TERM_DAYS` after it was taken). A loan booked by the core with its own schedule
  (`[(due_on, amount)]`) keeps that one.
- A repayment is allocated to installments oldest due first (`allocation_plan`): a repayment
  naming a loan goes to that loan's installments; one naming none to the oldest due installment
  across the account's loans in collection, skipping disputed and reversed loans and loans whose
  collection is paused. Each part is a `RepaymentAllocation` row; an installment paid in full
  gets the day it was (`paid_on`), from which lateness is judged (accounts/delinquency.py).

The writers here run inside the caller's transaction, under the account's lock, with a fixed
number of queries whatever the number of loans or installments (bulk inserts and updates with
their history rows and activity-trail rows).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from core.activity import _current, changes_of, object_label, snapshot
from core.errors import ApplicationError
from core.models import ActivityEntry

from .enums import LoanKind, LoanStatus
from .models import ZERO, Installment, LoanRecord, RepaymentAllocation

CENT = Decimal("0.01")


def add_months(day: date, months: int) -> date:
    """The same day `months` months later (the month's last day when it has no such day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def grace_days() -> int:
    return int(getattr(settings, "OVERDUE_GRACE_DAYS", 3))


@dataclass(frozen=True)
class Due:
    """One installment of a schedule being planned."""

    number: int
    due_on: date
    amount: Decimal


def _schedule_error(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", status=400, fields={"schedule": [message]})


def _split(amount: Decimal, parts: int) -> list[Decimal]:
    """`amount` in `parts` installments of whole cents; the last takes the remainder."""
    share = (amount / parts).quantize(CENT, rounding=ROUND_DOWN)
    return [share] * (parts - 1) + [amount - share * (parts - 1)]


def schedule_plan(
    *,
    kind: str,
    amount: Decimal,
    taken_on: date,
    interest_free_days: int,
    due_date: date | None = None,
    months: int | None = None,
    terms: Sequence[tuple[date, Decimal]] | None = None,
) -> list[Due]:
    """The schedule of a loan of `kind` and `amount` taken on `taken_on` (module docstring).
    `terms`, when given, is the loan's own schedule: positive amounts adding up to the loan's,
    due dates in order and not before the loan."""
    if terms:
        dues = [Due(n, on, Decimal(str(part))) for n, (on, part) in enumerate(terms, 1)]
        if any(d.amount <= 0 for d in dues):
            raise _schedule_error(_("Every installment must be more than zero."))
        if sum(d.amount for d in dues) != amount:
            raise _schedule_error(_("The installments must add up to the loan's amount."))
        dates = [d.due_on for d in dues]
        if dates != sorted(dates) or dates[0] < taken_on:
            raise _schedule_error(_("The due dates must be in order and not before the loan."))
        return dues
    if kind == LoanKind.INSTALLMENT:
        count = months or int(getattr(settings, "INSTALLMENT_DEFAULT_MONTHS", 3))
        if not 1 <= count <= 60:
            raise _schedule_error(_("An installment loan has from 1 to 60 monthly installments."))
        parts = _split(amount, count) if amount >= CENT * count else [amount]
        return [Due(n, add_months(taken_on, n), part) for n, part in enumerate(parts, 1)]
    if kind == LoanKind.CASH:
        term = int(getattr(settings, "CASH_LOAN_TERM_DAYS", 30))
        return [Due(1, due_date or taken_on + timedelta(days=term), amount)]
    return [Due(1, due_date or taken_on + timedelta(days=interest_free_days), amount)]


def loan_schedule_plan(loan: LoanRecord, *, interest_free_days: int) -> list[Due]:
    """The default schedule of an existing loan (one posted before schedules existed)."""
    taken_on = timezone.localdate(loan.created_at)
    return schedule_plan(
        kind=loan.kind,
        amount=loan.amount,
        taken_on=taken_on,
        interest_free_days=interest_free_days,
        due_date=loan.due_date,
    )


# --- Bulk writes with their history and trail (a fixed number of queries) ------------------------


def _trail(objs: Sequence[models.Model], *, actor, reason: str, created: bool, fields=None) -> None:
    """The activity-trail rows of a bulk insert or update, in one INSERT."""
    if not objs:
        return
    context = _current()
    ActivityEntry.objects.bulk_create(
        ActivityEntry(
            actor_id=actor.pk,
            actor_username=str(actor.username)[:150],
            action=f"{obj._meta.label_lower}.{'create' if created else 'update'}",
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_label=object_label(obj),
            changes=changes_of(
                obj,
                before=None if created else getattr(obj, "_activity_loaded", None),
                update_fields=fields,
            ),
            reason=reason,
            ip_address=context.get("ip") or None,
            request_id=context.get("request_id", ""),
            xact=None if connection.vendor == "postgresql" else 0,
        )
        for obj in objs
    )
    for obj in objs:
        obj._activity_loaded = snapshot(obj)  # noqa: SLF001 - the next save diffs from here


def rows_create(objs: list[models.Model], *, actor, reason: str) -> list[models.Model]:
    """Insert `objs` with one history row each and their trail rows."""
    if not objs:
        return objs
    model = type(objs[0])
    created = bulk_create_with_history(
        objs, model, default_user=actor, default_change_reason=reason
    )
    _trail(created, actor=actor, reason=reason, created=True)
    return created


def rows_update(objs: list[models.Model], fields: list[str], *, actor, reason: str) -> None:
    """Update `fields` of `objs` with one history row each and their trail rows."""
    if not objs:
        return
    model = type(objs[0])
    bulk_update_with_history(objs, model, fields, default_user=actor, default_change_reason=reason)
    _trail(objs, actor=actor, reason=reason, created=False, fields=fields)


def schedule_create(
    *, loan: LoanRecord, plan: Iterable[Due], actor, reason: str, paid_on: date | None = None
) -> list[Installment]:
    """Write the loan's installments. What was already repaid on the loan (amount minus
    outstanding) is counted as paid on the oldest ones (on `paid_on`, else their due date)."""
    paid = loan.amount - loan.outstanding_amount
    rows = []
    for due in plan:
        part = min(paid, due.amount)
        paid -= part
        full = part == due.amount
        rows.append(
            Installment(
                loan=loan,
                account_id=loan.account_id,
                number=due.number,
                due_on=due.due_on,
                amount=due.amount,
                paid_amount=part,
                paid_on=(paid_on or due.due_on) if full else None,
            )
        )
    return rows_create(rows, actor=actor, reason=reason)


# --- Allocation -----------------------------------------------------------------------------


@dataclass
class Allocation:
    installment: Installment | None  # None: a loan with nothing scheduled left (paid directly)
    loan: LoanRecord
    amount: Decimal


def allocation_order(installments: Iterable[Installment], loans: dict[int, LoanRecord]) -> list:
    """Oldest due first; between equal dates, the older loan first."""
    return sorted(
        installments,
        key=lambda i: (i.due_on, loans[i.loan_id].created_at, i.loan_id, i.number),
    )


def allocation_plan(
    *, loans: list[LoanRecord], installments: list[Installment], amount: Decimal
) -> tuple[list[Allocation], Decimal]:
    """Allocate `amount` to the unpaid `installments` of `loans`, oldest due first, never more
    than a loan still owes; what a loan owes beyond its scheduled installments (a schedule
    written after part of it was settled elsewhere) is paid after them. Returns the parts and
    what is left over."""
    by_id = {loan.pk: loan for loan in loans}
    owed = {loan.pk: loan.outstanding_amount for loan in loans}
    remaining = amount
    parts: list[Allocation] = []
    for inst in allocation_order((i for i in installments if i.loan_id in by_id), by_id):
        if remaining <= 0:
            break
        part = min(remaining, inst.remaining, owed[inst.loan_id])
        if part <= 0:
            continue
        parts.append(Allocation(inst, by_id[inst.loan_id], part))
        owed[inst.loan_id] -= part
        remaining -= part
    for loan in loans:  # oldest loan first (the caller's order)
        if remaining <= 0:
            break
        part = min(remaining, owed[loan.pk])
        if part > 0:
            parts.append(Allocation(None, loan, part))
            owed[loan.pk] -= part
            remaining -= part
    return parts, remaining


def allocations_pay(
    parts: list[Allocation], *, paid_on: date
) -> list[tuple[Allocation, Installment]]:
    """Pay the parts in memory: each loan's outstanding amount down, each installment's paid
    amount up (paid on `paid_on` when it is paid in full). Returns the (part, installment)
    pairs that paid an installment; writing them is the caller's."""
    paid = []
    for part in parts:
        part.loan.outstanding_amount -= part.amount
        inst = part.installment
        if inst is None:
            continue
        inst.paid_amount += part.amount
        if inst.paid_amount == inst.amount:
            inst.paid_on = paid_on
        paid.append((part, inst))
    return paid


def allocations_apply(
    parts: list[Allocation], *, repayment, paid_on: date, actor, reason: str
) -> list[RepaymentAllocation]:
    """Write the allocation rows (when there is a repayment) and the installments they pay;
    loans are the caller's to update (their outstanding amounts are paid down here, in memory)."""
    touched: dict[int, Installment] = {}
    rows = []
    for part, inst in allocations_pay(parts, paid_on=paid_on):
        touched[inst.pk] = inst
        if repayment is not None:
            rows.append(
                RepaymentAllocation(repayment=repayment, installment=inst, amount=part.amount)
            )
    rows_update(list(touched.values()), ["paid_amount", "paid_on"], actor=actor, reason=reason)
    return rows_create(rows, actor=actor, reason=reason)


def collectable(loan: LoanRecord) -> bool:
    """A loan a repayment naming no loan may go to: in collection, not disputed or reversed."""
    return loan.status == LoanStatus.POSTED and not loan.collection_paused


def unpaid_installments_for_update(*, loan_ids: list[int]) -> list[Installment]:
    """The unpaid installments of these loans, locked (after the loans, in pk order)."""
    return list(
        Installment.objects.select_for_update(no_key=True)
        .filter(loan_id__in=loan_ids, paid_on__isnull=True)
        .order_by("pk")
    )


def installments_total(installments: Iterable[Installment]) -> Decimal:
    return sum((i.remaining for i in installments), ZERO)
