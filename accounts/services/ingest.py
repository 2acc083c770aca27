"""The ledger feed from the lending core: customers (and their accounts), loans and repayments
the core has booked, in batches, set-based (README "Lending core").

One service behind the API (`/api/v1/core/...`, accounts/api_core.py), `manage.py
import_ledger` and `seed_demo`:

- `customers_ingest`, `loans_ingest`, `repayments_ingest`: a batch of items of one type (dicts as
  the core sends them, CONTRACT.md "Lending core"), in one transaction, with a fixed number of
  queries whatever the batch's size: lookups (one array parameter each), COPY (or bulk_create)
  of the new rows with their history rows and activity-trail rows, bulk updates with theirs
  (accounts/services/ingest_rows.py), the overdue figures of the touched accounts.
- `ledger_ingest`: a mixed list `[(type, item)]` (a chunk of the import): its customers, then
  its loans, then its repayments, each a batch; inside the caller's transaction the overdue
  figures of every account the chunk touched are refreshed once, at its end.

Every item gets a result (`ItemResult`): 201 and its ids when booked; the same answer again for
the same reference and body (idempotent by the core's reference: the body's hash is stored on
the row); 409 `reference_conflict` for a known reference with another body; 200 with
`ignored: "stale_update"` for a customer update not newer than the one held; 400 with a code and
a field-level message when refused (malformed item, unknown account, customer or loan, amount
<= 0, an authorization naming another loan or another customer's account), and then nothing is
written for that item while the rest of the batch goes on.

Facts are recorded, not refused (the desk is not the authority that grants loans): a loan on an
account that is not lending, or breaking the partner-interface register (accounts/partners.py),
is stored and flagged on the loan (`booked_while_not_lending`, `register_violation`); a
repayment beyond what is owed is stored, the excess held in the account's credit balance (an
`overpayment` credit entry) and flagged (`excess_amount`). Flagged items are alerted to the
managers, one notice per batch (`staff.ledger_flags`).
"""

from __future__ import annotations

import contextvars
import hashlib
import ipaddress
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from core import crypto
from core.errors import ApplicationError
from core.roles import MANAGER
from notices.services import notice_enqueue_staff

from .. import hooks, schedules
from ..delinquency import delinquency_refresh_accounts
from ..enums import (
    ACCOUNT_LENDING_STATUSES,
    AuthMethod,
    AuthOutcome,
    CreditKind,
    Language,
    LoanChannel,
    LoanKind,
    LoanStatus,
    RepaymentChannel,
)
from ..models import (
    ZERO,
    AccountCredit,
    AuthorizationEvent,
    CreditAccount,
    Customer,
    Installment,
    LoanRecord,
    Repayment,
    RepaymentAllocation,
    User,
)
from ..partners import register_snapshot
from .common import reference_new
from .ingest_rows import array_param, rows_copy_insert, rows_copy_update

__all__ = [
    "BATCH_LIMIT",
    "FLAGS_EVENT",
    "ItemResult",
    "customers_ingest",
    "ledger_ingest",
    "loans_ingest",
    "repayments_ingest",
]

BATCH_LIMIT = 1000  # items per API body (CONTRACT.md); the import uses its own chunks
FLAGS_EVENT = "staff.ledger_flags"
FEED_REASON = "booked by the lending core"
CENT = Decimal("0.01")
MAX_MONEY = Decimal("999999999999.99")
# Flags of a result (also on the rows: register_violation, booked_while_not_lending,
# excess_amount).
FLAG_NOT_LENDING = "account_not_lending"
FLAG_OVERPAYMENT = "overpayment"
# The choices' values, once (`Choices.values` builds a new list at every call).
LANGUAGES = frozenset(Language.values)
LOAN_KINDS = frozenset(LoanKind.values)
LOAN_CHANNELS = frozenset(LoanChannel.values)
AUTH_METHODS = frozenset(AuthMethod.values)
AUTH_OUTCOMES = frozenset(AuthOutcome.values)
REPAYMENT_CHANNELS = frozenset(RepaymentChannel.values)


@dataclass
class ItemResult:
    """One item's answer: `status` (201 booked, 200 ignored, 400 refused, 409 conflict) and
    `body` (the ids, or `{"error": {code, message, fields?}}`)."""

    status: int
    body: dict[str, Any]
    reference: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400

    def as_dict(self, index: int) -> dict[str, Any]:
        return {"index": index, "reference": self.reference, "status": self.status, **self.body}


class ItemError(Exception):
    """An item refused: nothing of it is written."""

    def __init__(self, code: str, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields or {}

    def result(self, reference: str = "", status: int = 400) -> ItemResult:
        error: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.fields:
            error["fields"] = self.fields
        return ItemResult(status, {"error": error}, reference)


def _conflict(reference: str) -> ItemResult:
    return ItemError(
        "reference_conflict",
        _("This reference is already booked with a different body."),
        {"reference": [_("Already booked with a different body.")]},
    ).result(reference, status=409)


# --- Reading an item -----------------------------------------------------------------------------


def body_hash(item: Any) -> str:
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _invalid(name: str, message: str) -> ItemError:
    return ItemError("invalid", _("The item is not valid."), {name: [message]})


def _object(value: Any, name: str) -> dict:
    if not isinstance(value, dict):
        raise _invalid(name, _("Must be an object."))
    return value


def _text(item: dict, key: str, *, max_length: int, required: bool = True, prefix: str = "") -> str:
    name = prefix + key
    value = item.get(key)
    if value is None or value == "":
        if required:
            raise _invalid(name, _("This field is required."))
        return ""
    if not isinstance(value, str):
        raise _invalid(name, _("Must be a string."))
    value = value.strip()
    if "\x00" in value or not value.isprintable():
        raise _invalid(name, _("Contains characters that are not allowed."))
    if len(value) > max_length:
        raise _invalid(name, _("At most %(n)d characters.") % {"n": max_length})
    if required and not value:
        raise _invalid(name, _("This field is required."))
    return value


def _choice(item: dict, key: str, choices: Iterable[str], *, default: str | None = None,
            prefix: str = "") -> str:  # fmt: skip
    value = item.get(key)
    if value in (None, "") and default is not None:
        return default
    if not isinstance(value, str) or value not in choices:
        raise _invalid(
            prefix + key, _("One of: %(choices)s.") % {"choices": ", ".join(sorted(choices))}
        )
    return value


def _money(item: dict, key: str, *, positive: bool = True, default: Decimal | None = None,
           prefix: str = "") -> Decimal:  # fmt: skip
    name = prefix + key
    value = item.get(key)
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _invalid(name, _('Must be a decimal amount such as "1234.50".'))
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _invalid(name, _('Must be a decimal amount such as "1234.50".')) from None
    if not amount.is_finite() or amount != amount.quantize(CENT) or abs(amount) > MAX_MONEY:
        raise _invalid(name, _("At most two decimal places and 12 digits."))
    if positive and amount <= 0:
        raise ItemError(
            "invalid_amount",
            _("The amount must be positive."),
            {name: [_("Must be more than zero.")]},
        )
    if not positive and amount < 0:
        raise ItemError(
            "invalid_amount",
            _("The amount cannot be negative."),
            {name: [_("Must be zero or more.")]},
        )
    return amount.quantize(CENT)


def _datetime(item: dict, key: str, *, required: bool = True, prefix: str = "") -> datetime | None:
    name = prefix + key
    value = item.get(key)
    if value in (None, ""):
        if required:
            raise _invalid(name, _("This field is required."))
        return None
    parsed = None
    if isinstance(value, str) and len(value) <= 40 and "\x00" not in value:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise _invalid(name, _("Must be an ISO 8601 time with its offset."))
    return parsed


def _date(value: Any, name: str) -> date:
    parsed = None
    if isinstance(value, str) and len(value) <= 10:
        try:
            parsed = parse_date(value)
        except ValueError:
            parsed = None
    if parsed is None:
        raise _invalid(name, _("Must be a date (YYYY-MM-DD)."))
    return parsed


def _int(item: dict, key: str, *, low: int, high: int, default: int, prefix: str = "") -> int:
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(prefix + key, _("A whole number from %(low)d to %(high)d.") % {
            "low": low, "high": high})  # fmt: skip
    return value


def _known(item: dict, allowed: set[str], prefix: str = "") -> None:
    unknown = sorted(str(key)[:64] for key in item if key not in allowed)
    if unknown:
        raise ItemError(
            "invalid",
            _("The item is not valid."),
            {prefix + key: [_("Unknown field.")] for key in unknown[:20]},
        )


def _segments(items: Sequence[Any], key: Callable[[Any], str]) -> list[list[int]]:
    """Indices of `items` cut into consecutive runs in which no reference repeats (a reference
    booked and then sent again in the same batch is answered from the first)."""
    runs: list[list[int]] = [[]]
    seen: set[str] = set()
    for index, item in enumerate(items):
        ref = key(item)
        if ref and ref in seen:
            runs.append([])
            seen = set()
        if ref:
            seen.add(ref)
        runs[-1].append(index)
    return [run for run in runs if run]


def _reference_of(item: Any) -> str:
    if isinstance(item, dict) and isinstance(item.get("reference"), str):
        return item["reference"].strip()[:64]
    return ""


def _segmented(
    items: Sequence[Any], run: Callable[[list[Any]], list[ItemResult]]
) -> list[ItemResult]:
    results: list[ItemResult] = [None] * len(items)  # type: ignore[list-item]
    for indices in _segments(items, _reference_of):
        for index, result in zip(indices, run([items[i] for i in indices]), strict=True):
            results[index] = result
    return results


def _in(model: type[models.Model], name: str, values: Iterable[Any]) -> Q | RawSQL:
    """`name IN values` as one array parameter on PostgreSQL (`= ANY(%s)`): a batch's lookup
    of thousands of references is then one value to quote and parse, not thousands."""
    values = list(values)
    if connection.vendor != "postgresql":
        return Q(**{f"{name}__in": values})
    qn = connection.ops.quote_name
    column = f"{qn(model._meta.db_table)}.{qn(model._meta.get_field(name).column)}"
    condition = f"{column} = ANY(%s)"
    return RawSQL(condition, (array_param(values),), output_field=models.BooleanField())  # noqa: S611 - names from _meta, values a parameter


def _loaded(queryset: models.QuerySet) -> list:
    """The queryset's rows as model instances built without `Model.__init__` and its post_init
    receivers (on PostgreSQL): the open loans and unpaid installments a repayment run reads,
    10^4 a chunk, are only allocated in memory and written back by `rows_copy_update`, which
    needs their field values, not the trail's snapshot of what was loaded (its trail rows hold
    no changes; the history rows hold the values). Elsewhere the ORM's instances: the generic
    bulk update diffs from that snapshot."""
    if connection.vendor != "postgresql":
        return list(queryset)
    model = queryset.model
    names = [f.attname for f in model._meta.concrete_fields]
    new, db = model.__new__, queryset.db
    objs = []
    for values in queryset.values_list(*names):
        obj = new(model)
        obj.__dict__.update(zip(names, values, strict=True))
        obj._state = state = ModelState()
        state.adding, state.db = False, db
        objs.append(obj)
    return objs


def _accounts_locked(numbers: Iterable[str]) -> dict[str, CreditAccount]:
    """The accounts with these numbers, locked in pk order (accounts.locks' global order)."""
    numbers = sorted({n for n in numbers if n})
    if not numbers:
        return {}
    rows = (
        CreditAccount.objects.select_for_update()
        .filter(_in(CreditAccount, "number", numbers))
        .order_by("pk")
    )
    return {account.number: account for account in rows}


# The accounts whose overdue figures a mixed chunk (`ledger_ingest`) refreshes once at its end,
# instead of after each of its customer, loan and repayment runs (None: refresh at once).
_refresh_pending: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar(
    "ledger_refresh_pending", default=None
)


def _refresh(*, account_ids: Iterable[int]) -> None:
    pending = _refresh_pending.get()
    if pending is None:
        delinquency_refresh_accounts(account_ids=account_ids)
    else:
        pending.update(account_ids)


def _alert(flagged: list[str], *, actor: User, kind: str) -> None:
    """One notice to the managers for the batch's flagged items."""
    if not flagged:
        return
    shown = flagged[:50]
    notice_enqueue_staff(
        event=FLAGS_EVENT,
        context={
            "kind": kind,
            "count": len(flagged),
            "items": "\n".join(shown),
            "more": len(flagged) - len(shown),
        },
        actor=actor,
        role=MANAGER,
        key=f"{kind}:{body_hash(flagged)[:32]}",
    )


def _insert(model, rows: list[dict], *, actor: User, reason: str, when: datetime) -> None:
    rows_copy_insert(model, rows, actor=actor, reason=reason, when=when)


def _update(objs: list, fields: list[str], *, actor: User, reason: str, when: datetime) -> None:
    rows_copy_update(objs, fields, actor=actor, reason=reason, when=when)


# --- Customers ---------------------------------------------------------------------------------


@dataclass
class _CustomerItem:
    reference: str
    hash: str
    name: str
    national_id: str
    phone: str
    email: str
    language: str
    updated_at: datetime | None
    number: str
    credit_limit: Decimal
    interest_free_days: int
    opened_at: datetime | None


_CUSTOMER_FIELDS = {
    "reference", "name", "national_id", "phone", "preferred_language", "updated_at", "email",
    "account",
}  # fmt: skip
_ACCOUNT_FIELDS = {"number", "credit_limit", "interest_free_days", "opened_at"}


def _customer_parse(item: Any) -> _CustomerItem:
    item = _object(item, "item")
    _known(item, _CUSTOMER_FIELDS)
    account = _object(item.get("account"), "account")
    _known(account, _ACCOUNT_FIELDS, "account.")
    national_id = crypto.normalize(_text(item, "national_id", max_length=32))
    phone = crypto.normalize(_text(item, "phone", max_length=32))
    number = _text(account, "number", max_length=20, prefix="account.")
    if not number.isdigit():
        raise _invalid("account.number", _("Digits only."))
    return _CustomerItem(
        reference=_text(item, "reference", max_length=64),
        hash=body_hash(item),
        name=_text(item, "name", max_length=100),
        national_id=national_id,
        phone=phone,
        email=_text(item, "email", max_length=254, required=False),
        language=_choice(item, "preferred_language", LANGUAGES, default=Language.ZH_HANS),
        updated_at=_datetime(item, "updated_at", required=False),
        number=number,
        credit_limit=_money(account, "credit_limit", positive=False, prefix="account."),
        interest_free_days=_int(
            account, "interest_free_days", low=0, high=365, default=30, prefix="account."
        ),
        opened_at=_datetime(account, "opened_at", required=False, prefix="account."),
    )


def customers_ingest(
    *, actor: User, items: Sequence[Any], reason: str = FEED_REASON
) -> list[ItemResult]:
    """Create or update customers and their accounts (module docstring)."""
    return _segmented(items, lambda run: _customers_run(actor=actor, items=run, reason=reason))


def _parsed(
    items: list[Any], parse: Callable[[Any], Any]
) -> tuple[list[ItemResult | None], dict[int, Any]]:
    """(a result slot per item, the parsed items by index): an item that does not parse gets
    its refusal in its slot at once."""
    results: list[ItemResult | None] = [None] * len(items)
    parsed: dict[int, Any] = {}
    for i, item in enumerate(items):
        try:
            parsed[i] = parse(item)
        except ItemError as exc:
            results[i] = exc.result(_reference_of(item))
    return results, parsed


def _booked(model: type[models.Model], parsed: dict[int, Any]) -> dict[str, tuple[int, str]]:
    """reference -> (pk, core hash) of the parsed items' references already booked."""
    return {
        ref: (pk, digest)
        for ref, pk, digest in model.objects.filter(
            _in(model, "reference", [p.reference for p in parsed.values()])
        ).values_list("reference", "pk", "core_hash")
    }


@transaction.atomic
def _customers_run(*, actor: User, items: list[Any], reason: str) -> list[ItemResult]:
    now = timezone.now()
    results, parsed = _parsed(items, _customer_parse)
    refs = [p.reference for p in parsed.values()]
    existing = {
        c.core_reference: c
        for c in Customer.objects.select_for_update().filter(_in(Customer, "core_reference", refs))
    }
    accounts = _accounts_locked(p.number for p in parsed.values())
    by_national = dict(
        Customer.objects.filter(
            _in(
                Customer,
                "national_id_index",
                [crypto.blind_index(p.national_id) for p in parsed.values()],
            )
        ).values_list("national_id_index", "pk")
    )
    taken_usernames = set(
        User.objects.filter(
            _in(
                User,
                "username",
                [p.reference for p in parsed.values() if p.reference not in existing],
            )
        ).values_list("username", flat=True)
    )
    new_users: list[dict] = []
    new_customers: list[dict] = []
    new_accounts: list[dict] = []
    pending: list[tuple[int, dict, dict | None]] = []  # (index, customer row, account row)
    changed_customers: list[Customer] = []
    changed_accounts: list[CreditAccount] = []
    customer_fields: set[str] = set()
    account_fields: set[str] = set()
    unusable = make_password(None)
    for i, p in parsed.items():
        index = crypto.blind_index(p.national_id)
        account = accounts.get(p.number)
        customer = existing.get(p.reference)
        if customer is None:
            if index in by_national:
                results[i] = ItemError(
                    "duplicate_customer",
                    _("A customer with this national ID number already exists."),
                    {"national_id": [_("Already registered.")]},
                ).result(p.reference)
                continue
            if account is not None:
                results[i] = _account_taken(p.reference)
                continue
            if p.reference in taken_usernames:
                results[i] = ItemError(
                    "username_taken",
                    _("This reference is already a login name."),
                    {"reference": [_("Already a login name.")]},
                ).result(p.reference)
                continue
            by_national[index] = -1  # a second new customer with it in this batch is refused
            # A second item naming this account number in the batch is refused.
            accounts[p.number] = CreditAccount(number=p.number, customer_id=-1)
            user = {"username": p.reference, "first_name": p.name, "email": p.email,
                    "password": unusable, "date_joined": p.opened_at or now}  # fmt: skip
            new_users.append(user)
            row = {
                "_user": len(new_users) - 1,
                "name": p.name,
                "national_id": p.national_id,
                "national_id_index": index,
                "phone": p.phone,
                "phone_index": crypto.blind_index(p.phone),
                "preferred_language": p.language,
                "created_at": p.opened_at or now,
                "core_reference": p.reference,
                "core_updated_at": p.updated_at,
                "core_hash": p.hash,
            }
            new_customers.append(row)
            acc = _account_row(p, now=now, customer_row=len(new_customers) - 1)
            new_accounts.append(acc)
            pending.append((i, row, acc))
            continue
        # A known reference.
        if account is not None and account.customer_id not in (customer.pk, None):
            results[i] = _account_taken(p.reference)
            continue
        if p.hash == customer.core_hash:
            results[i] = ItemResult(
                201, {"customer": customer.pk, "account": account.pk if account else None},
                p.reference,
            )  # fmt: skip
            continue
        newer = p.updated_at is not None and (
            customer.core_updated_at is None or p.updated_at > customer.core_updated_at
        )
        if not newer:
            if (
                p.updated_at is not None
                and customer.core_updated_at is not None
                and p.updated_at < customer.core_updated_at
            ):
                results[i] = ItemResult(
                    200,
                    {"customer": customer.pk, "account": account.pk if account else None,
                     "ignored": "stale_update"},
                    p.reference,
                )  # fmt: skip
            else:
                results[i] = _conflict(p.reference)
            continue
        if index != customer.national_id_index and index in by_national:
            results[i] = ItemError(
                "duplicate_customer",
                _("A customer with this national ID number already exists."),
                {"national_id": [_("Already registered.")]},
            ).result(p.reference)
            continue
        updates = {
            "name": p.name,
            "national_id": p.national_id,
            "national_id_index": index,
            "phone": p.phone,
            "phone_index": crypto.blind_index(p.phone),
            "preferred_language": p.language,
            "core_updated_at": p.updated_at,
            "core_hash": p.hash,
        }
        for name, value in updates.items():
            if getattr(customer, name) != value:
                setattr(customer, name, value)
                customer_fields.add(name)
        changed_customers.append(customer)
        if account is None:
            acc = _account_row(p, now=now, customer_row=None)
            acc["customer_id"] = customer.pk
            new_accounts.append(acc)
            pending.append((i, {"id": customer.pk}, acc))
            accounts[p.number] = CreditAccount(number=p.number, customer_id=customer.pk)
            continue
        if account.credit_limit != p.credit_limit:
            used = account.credit_limit - account.available_credit
            account.credit_limit = p.credit_limit
            account.available_credit = max(ZERO, p.credit_limit - used)
            account_fields |= {"credit_limit", "available_credit"}
        if account.interest_free_days != p.interest_free_days:
            account.interest_free_days = p.interest_free_days
            account_fields.add("interest_free_days")
        changed_accounts.append(account)
        results[i] = ItemResult(201, {"customer": customer.pk, "account": account.pk}, p.reference)
    when = now
    _insert(User, new_users, actor=actor, reason=reason, when=when)
    for row in new_customers:
        row["user_id"] = new_users[row.pop("_user")]["id"]
    _insert(Customer, new_customers, actor=actor, reason=reason, when=when)
    for row in new_accounts:
        if "_customer" in row:
            row["customer_id"] = new_customers[row.pop("_customer")]["id"]
    _insert(CreditAccount, new_accounts, actor=actor, reason=reason, when=when)
    for i, customer_row, account_row in pending:
        account_id = account_row["id"] if account_row else accounts[parsed[i].number].pk
        results[i] = ItemResult(
            201, {"customer": customer_row["id"], "account": account_id}, parsed[i].reference
        )
    if changed_customers and customer_fields:
        _update(changed_customers, sorted(customer_fields), actor=actor, reason=reason, when=now)
    if changed_accounts and account_fields:
        _update(changed_accounts, sorted(account_fields), actor=actor, reason=reason, when=now)
    if new_accounts:
        _refresh(account_ids=[row["id"] for row in new_accounts])
    return results  # type: ignore[return-value]


def _account_taken(reference: str) -> ItemResult:
    return ItemError(
        "account_conflict",
        _("This account number belongs to another customer."),
        {"account.number": [_("Belongs to another customer.")]},
    ).result(reference)


def _account_row(p: _CustomerItem, *, now: datetime, customer_row: int | None) -> dict:
    row = {
        "number": p.number,
        "credit_limit": p.credit_limit,
        "available_credit": p.credit_limit,
        "outstanding_balance": ZERO,
        "interest_free_days": p.interest_free_days,
        "opened_at": p.opened_at or now,
        "closed_at": None,
        "customer_id": None,
    }
    if customer_row is not None:
        row["_customer"] = customer_row
    return row


# --- Loans -------------------------------------------------------------------------------------


_LOAN_FIELDS = {
    "reference", "account", "amount", "fees", "interest", "kind", "merchant", "channel",
    "partner_interface", "created_at", "schedule", "authorization",
}  # fmt: skip
_AUTH_FIELDS = {
    "method", "channel", "partner_interface", "device_id", "ip", "consent_reference", "at",
    "outcome", "loan", "account",
}  # fmt: skip


@dataclass
class _LoanItem:
    reference: str
    hash: str
    account: str
    amount: Decimal
    fees: Decimal
    interest: Decimal
    kind: str
    merchant: str
    channel: str
    partner_interface: str
    created_at: datetime
    terms: list[tuple[date, Decimal]] | None
    authorizations: list[dict]
    auth_accounts: list[str]


def _loan_parse(item: Any, now: datetime) -> _LoanItem:
    item = _object(item, "item")
    _known(item, _LOAN_FIELDS)
    reference = _text(item, "reference", max_length=32)
    terms = None
    if item.get("schedule") not in (None, []):
        if not isinstance(item["schedule"], list) or len(item["schedule"]) > 360:
            raise _invalid("schedule", _("A list of at most 360 installments."))
        terms = []
        for n, due in enumerate(item["schedule"]):
            due = _object(due, f"schedule.{n}")
            _known(due, {"due_on", "amount"}, f"schedule.{n}.")
            terms.append(
                (_date(due.get("due_on"), f"schedule.{n}.due_on"),
                 _money(due, "amount", prefix=f"schedule.{n}."))
            )  # fmt: skip
    authorizations: list[dict] = []
    auth_accounts: list[str] = []
    value = item.get("authorization")
    if isinstance(value, list):  # attempts before the one that succeeded, in order
        if len(value) > 10:
            raise _invalid("authorization", _("At most 10 events."))
        for n, auth in enumerate(value):
            event, account = _auth_parse(auth, f"authorization.{n}.", reference)
            authorizations.append(event)
            auth_accounts.append(account)
    elif value is not None:
        event, account = _auth_parse(value, "authorization.", reference)
        authorizations.append(event)
        auth_accounts.append(account)
    return _LoanItem(
        reference=reference,
        hash=body_hash(item),
        account=_text(item, "account", max_length=20),
        amount=_money(item, "amount"),
        fees=_money(item, "fees", positive=False, default=ZERO),
        interest=_money(item, "interest", positive=False, default=ZERO),
        kind=_choice(item, "kind", LOAN_KINDS),
        merchant=_text(item, "merchant", max_length=120, required=False),
        channel=_choice(item, "channel", LOAN_CHANNELS),
        partner_interface=_text(item, "partner_interface", max_length=64, required=False),
        created_at=_datetime(item, "created_at", required=False) or now,
        terms=terms,
        authorizations=authorizations,
        auth_accounts=[a for a in auth_accounts if a],
    )


def _auth_parse(auth: Any, p: str, reference: str) -> tuple[dict, str]:
    """One authorization event of a loan, and the account it names (if any)."""
    auth = _object(auth, p.rstrip("."))
    _known(auth, _AUTH_FIELDS, p)
    named_loan = _text(auth, "loan", max_length=32, required=False, prefix=p)
    if named_loan and named_loan != reference:
        raise ItemError(
            "authorization_mismatch",
            _("The authorization event names another loan."),
            {p + "loan": [_("Not this loan.")]},
        )
    auth_account = _text(auth, "account", max_length=20, required=False, prefix=p)
    ip = _text(auth, "ip", max_length=45, required=False, prefix=p)
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            raise _invalid(p + "ip", _("Not an IP address.")) from None
    event = {
        "method": _choice(auth, "method", AUTH_METHODS, prefix=p),
        "channel": _choice(auth, "channel", LOAN_CHANNELS, prefix=p),
        "partner_interface": _text(
            auth, "partner_interface", max_length=64, required=False, prefix=p
        ),
        "device_id": _text(auth, "device_id", max_length=64, required=False, prefix=p),
        "ip_address": ip or None,
        "consent_reference": _text(
            auth, "consent_reference", max_length=64, required=False, prefix=p
        ),
        "occurred_at": _datetime(auth, "at", required=False, prefix=p),
        "outcome": _choice(auth, "outcome", AUTH_OUTCOMES, default=AuthOutcome.SUCCESS, prefix=p),
    }
    return event, auth_account


def _unknown_account() -> ItemError:
    return ItemError(
        "unknown_account", _("No account has this number."), {"account": [_("Unknown account.")]}
    )


def loans_ingest(
    *, actor: User, items: Sequence[Any], reason: str = FEED_REASON
) -> list[ItemResult]:
    """Book loans with their fees, schedules and authorization events (module docstring)."""
    return _segmented(items, lambda run: _loans_run(actor=actor, items=run, reason=reason))


@transaction.atomic
def _loans_run(*, actor: User, items: list[Any], reason: str) -> list[ItemResult]:
    now = timezone.now()
    tz = timezone.get_current_timezone()  # once a run, not per item (a context-local read)
    results, parsed = _parsed(items, lambda item: _loan_parse(item, now))
    known = _booked(LoanRecord, parsed)
    accounts = _accounts_locked(
        [p.account for p in parsed.values()] + [a for p in parsed.values() for a in p.auth_accounts]
    )
    register = register_snapshot()
    loans: list[dict] = []
    installments: list[dict] = []
    events: list[dict] = []
    touched: dict[int, CreditAccount] = {}
    booked: list[tuple[int, dict, list[str]]] = []
    flagged: list[str] = []
    for i, p in parsed.items():
        if p.reference in known:
            pk, digest = known[p.reference]
            results[i] = (
                ItemResult(201, {"id": pk}, p.reference) if digest == p.hash
                else _conflict(p.reference)
            )  # fmt: skip
            continue
        account = accounts.get(p.account)
        try:
            if account is None:
                raise _unknown_account()
            for named in p.auth_accounts:
                other = accounts.get(named)
                if other is None or other.customer_id != account.customer_id:
                    raise ItemError(
                        "authorization_mismatch",
                        _("The authorization event names another customer's account."),
                        {"authorization.account": [_("Not this customer's account.")]},
                    )
            plan = schedules.schedule_plan(
                kind=p.kind,
                amount=p.amount,
                taken_on=timezone.localdate(p.created_at, tz),
                interest_free_days=account.interest_free_days,
                terms=p.terms,
            )
        except ItemError as exc:
            results[i] = exc.result(p.reference)
            continue
        except ApplicationError as exc:
            results[i] = ItemError(exc.code, str(exc.message), exc.fields).result(p.reference)
            continue
        flags = []
        violation = register.refusal(p.partner_interface, p.kind, p.channel, p.amount) or ""
        if violation:
            flags.append(violation)
        not_lending = account.status not in ACCOUNT_LENDING_STATUSES
        if not_lending:
            flags.append(FLAG_NOT_LENDING)
        loan = {
            "reference": p.reference,
            "account_id": account.pk,
            "amount": p.amount,
            "outstanding_amount": p.amount,
            "fees": p.fees,
            "interest": p.interest,
            "kind": p.kind,
            "merchant": p.merchant,
            "channel": p.channel,
            "partner_interface": p.partner_interface,
            "status": LoanStatus.POSTED,
            "created_at": p.created_at,
            "due_date": plan[-1].due_on,
            "collection_paused": False,
            "core_hash": p.hash,
            "register_violation": violation,
            "booked_while_not_lending": not_lending,
        }
        loans.append(loan)
        for due in plan:
            installments.append(
                {"_loan": loan, "account_id": account.pk, "number": due.number,
                 "due_on": due.due_on, "amount": due.amount, "paid_amount": ZERO,
                 "paid_on": None}
            )  # fmt: skip
        for event in p.authorizations:
            events.append({**event, "_loan": loan, "account_id": account.pk,
                           "occurred_at": event["occurred_at"] or p.created_at})  # fmt: skip
        account.outstanding_balance += p.amount
        account.available_credit = max(ZERO, account.available_credit - p.amount)
        touched[account.pk] = account
        known[p.reference] = (None, p.hash)
        booked.append((i, loan, flags))
        if flags:
            flagged.append(f"{p.reference} ({account.number_masked}): {', '.join(flags)}")
    _insert(LoanRecord, loans, actor=actor, reason=reason, when=now)
    for row in installments:
        row["loan_id"] = row.pop("_loan")["id"]
    _insert(Installment, installments, actor=actor, reason=reason, when=now)
    for row in events:
        row["loan_id"] = row.pop("_loan")["id"]
    _insert(AuthorizationEvent, events, actor=actor, reason=reason, when=now)
    for i, loan, flags in booked:
        body: dict[str, Any] = {"id": loan["id"]}
        if flags:
            body["flags"] = flags
        results[i] = ItemResult(201, body, loan["reference"])
    if touched:
        accounts_touched = [touched[pk] for pk in sorted(touched)]
        _update(accounts_touched, ["outstanding_balance", "available_credit"],
                              actor=actor, reason=reason, when=now)  # fmt: skip
        _refresh(account_ids=sorted(touched))
    _alert(flagged, actor=actor, kind="loans")
    return results  # type: ignore[return-value]


# --- Repayments --------------------------------------------------------------------------------


_REPAYMENT_FIELDS = {"reference", "account", "amount", "paid_at", "loan", "channel"}


@dataclass
class _RepaymentItem:
    reference: str
    hash: str
    account: str
    amount: Decimal
    paid_at: datetime
    loan: str
    channel: str


def _repayment_parse(item: Any, now: datetime) -> _RepaymentItem:
    item = _object(item, "item")
    _known(item, _REPAYMENT_FIELDS)
    return _RepaymentItem(
        reference=_text(item, "reference", max_length=32),
        hash=body_hash(item),
        account=_text(item, "account", max_length=20),
        amount=_money(item, "amount"),
        paid_at=_datetime(item, "paid_at", required=False) or now,
        loan=_text(item, "loan", max_length=32, required=False),
        channel=_choice(
            item, "channel", REPAYMENT_CHANNELS, default=RepaymentChannel.BANK_CARD
        ),  # fmt: skip
    )


@dataclass
class _AccountBook:
    """What a repayment run holds of one account: its open loans and their unpaid
    installments, oldest first (the allocation's order)."""

    loans: list[LoanRecord] = field(default_factory=list)
    installments: list[Installment] = field(default_factory=list)


def repayments_ingest(
    *, actor: User, items: Sequence[Any], reason: str = FEED_REASON
) -> list[ItemResult]:
    """Book repayments, allocated to installments oldest due first (module docstring)."""
    return _segmented(items, lambda run: _repayments_run(actor=actor, items=run, reason=reason))


@transaction.atomic
def _repayments_run(*, actor: User, items: list[Any], reason: str) -> list[ItemResult]:
    now = timezone.now()
    tz = timezone.get_current_timezone()  # once a run, not per item (a context-local read)
    results, parsed = _parsed(items, lambda item: _repayment_parse(item, now))
    known = _booked(Repayment, parsed)
    accounts = _accounts_locked(p.account for p in parsed.values() if p.reference not in known)
    named = dict(
        LoanRecord.objects.filter(
            _in(LoanRecord, "reference", [p.loan for p in parsed.values() if p.loan])
        ).values_list("reference", "account_id")
    )
    books: dict[int, _AccountBook] = defaultdict(_AccountBook)
    if accounts:
        account_ids = [a.pk for a in accounts.values()]
        open_loans = _loaded(
            LoanRecord.objects.select_for_update(no_key=True)
            .filter(_in(LoanRecord, "account_id", account_ids), outstanding_amount__gt=0,
                    status__in=[LoanStatus.POSTED, LoanStatus.DISPUTED])
            .order_by("account_id", "created_at", "pk")
        )  # fmt: skip
        for loan in open_loans:
            books[loan.account_id].loans.append(loan)
        # schedules.unpaid_installments_for_update's rows (the loans' unpaid installments,
        # locked after the loans, in pk order), loaded as above.
        for inst in _loaded(
            Installment.objects.select_for_update(no_key=True)
            .filter(_in(Installment, "loan_id", [loan.pk for loan in open_loans]),
                    paid_on__isnull=True)
            .order_by("pk")
        ):  # fmt: skip
            books[inst.account_id].installments.append(inst)
    by_reference = {loan.reference: loan for book in books.values() for loan in book.loans}
    repayments: list[dict] = []
    allocations: list[dict] = []
    credits: list[dict] = []
    paid_installments: dict[int, Installment] = {}
    paid_loans: dict[int, LoanRecord] = {}
    touched: dict[int, CreditAccount] = {}
    settled: list[CreditAccount] = []
    owed_before: dict[int, Decimal] = {}
    booked: list[tuple[int, dict]] = []
    flagged: list[str] = []
    for i, p in parsed.items():
        if p.reference in known:
            pk, digest = known[p.reference]
            results[i] = (
                ItemResult(201, {"id": pk}, p.reference) if digest == p.hash
                else _conflict(p.reference)
            )  # fmt: skip
            continue
        account = accounts.get(p.account)
        if account is None:
            results[i] = _unknown_account().result(p.reference)
            continue
        if p.loan and p.loan not in named:
            results[i] = ItemError(
                "unknown_loan", _("No loan record has this reference."),
                {"loan": [_("Unknown loan record.")]},
            ).result(p.reference)  # fmt: skip
            continue
        if p.loan and named[p.loan] != account.pk:
            results[i] = ItemError(
                "loan_not_on_account", _("The loan record is not on this account."),
                {"loan": [_("Not on this account.")]},
            ).result(p.reference)  # fmt: skip
            continue
        book = books[account.pk]
        if p.loan:
            loan = by_reference.get(p.loan)
            loans = [loan] if loan is not None and loan.outstanding_amount > 0 else []
        else:
            loans = [loan for loan in book.loans if schedules.collectable(loan)]
        parts, excess = schedules.allocation_plan(
            loans=loans, installments=book.installments, amount=p.amount
        )
        applied = min(p.amount - excess, account.outstanding_balance)
        excess = p.amount - applied
        owed_before.setdefault(account.pk, account.outstanding_balance)
        repayment = {
            "reference": p.reference,
            "account_id": account.pk,
            "loan_id": by_reference[p.loan].pk if p.loan in by_reference else _loan_id(p, named),
            "amount": p.amount,
            "channel": p.channel,
            "paid_at": p.paid_at,
            "core_hash": p.hash,
            "excess_amount": excess,
        }
        repayments.append(repayment)
        paid_on = timezone.localdate(p.paid_at, tz)
        paid_loans.update((part.loan.pk, part.loan) for part in parts)
        for part, inst in schedules.allocations_pay(parts, paid_on=paid_on):
            paid_installments[inst.pk] = inst
            allocations.append({"_repayment": repayment, "installment_id": inst.pk,
                                "amount": part.amount})  # fmt: skip
        account.outstanding_balance -= applied
        account.available_credit = min(account.credit_limit, account.available_credit + applied)
        if excess > 0:
            account.credit_balance += excess
            credits.append({
                "reference": reference_new("CR"), "account_id": account.pk,
                "kind": CreditKind.OVERPAYMENT, "amount": excess, "applied_amount": ZERO,
                "held_amount": excess, "loan_id": None, "origin": f"repayment:{p.reference}",
                "reason": reason, "created_by_id": actor.pk, "created_at": now,
            })  # fmt: skip
            flagged.append(f"{p.reference} ({account.number_masked}): {FLAG_OVERPAYMENT} {excess}")
        touched[account.pk] = account
        known[p.reference] = (None, p.hash)
        booked.append((i, repayment))
    _insert(Repayment, repayments, actor=actor, reason=reason, when=now)
    for row in allocations:
        row["repayment_id"] = row.pop("_repayment")["id"]
    _insert(RepaymentAllocation, allocations, actor=actor, reason=reason, when=now)
    _insert(AccountCredit, credits, actor=actor, reason=reason, when=now)
    for i, repayment in booked:
        body: dict[str, Any] = {"id": repayment["id"]}
        if repayment["excess_amount"] > 0:
            body["flags"] = [FLAG_OVERPAYMENT]
            body["excess"] = str(repayment["excess_amount"])
        results[i] = ItemResult(201, body, repayment["reference"])
    if paid_installments:
        _update([paid_installments[k] for k in sorted(paid_installments)],
                              ["paid_amount", "paid_on"], actor=actor, reason=reason, when=now)  # fmt: skip
    if paid_loans:
        loans = [paid_loans[k] for k in sorted(paid_loans)]
        for loan in loans:
            if loan.status == LoanStatus.POSTED and loan.outstanding_amount == 0:
                loan.status = LoanStatus.REPAID
        _update(loans, ["outstanding_amount", "status"], actor=actor, reason=reason, when=now)
    if touched:
        accounts_touched = [touched[pk] for pk in sorted(touched)]
        _update(
            accounts_touched, ["outstanding_balance", "available_credit", "credit_balance"],
            actor=actor, reason=reason, when=now,
        )  # fmt: skip
        _refresh(account_ids=sorted(touched))
        settled = [
            a for a in accounts_touched if owed_before[a.pk] > 0 and a.outstanding_balance == 0
        ]
    for account in settled:
        hooks.balance_settled(account=account, actor=actor)
    _alert(flagged, actor=actor, kind="repayments")
    return results  # type: ignore[return-value]


def _loan_id(p: _RepaymentItem, named: dict[str, int]) -> int | None:
    """The id of a named loan with nothing left open (not among the locked open loans)."""
    if not p.loan:
        return None
    return LoanRecord.objects.filter(reference=p.loan).values_list("pk", flat=True).first()


# --- Mixed (the import) ------------------------------------------------------------------------

INGESTERS: dict[str, Callable[..., list[ItemResult]]] = {
    "customer": customers_ingest,
    "loan": loans_ingest,
    "repayment": repayments_ingest,
}


def ledger_ingest(
    *, actor: User, items: Sequence[tuple[str, Any]], reason: str = FEED_REASON
) -> list[ItemResult]:
    """A mixed list of (type, item): the customers first, then the loans, then the repayments
    (each in their order in the list, so a chunk of the import is three batches whatever the
    order of its lines); an unknown type is refused."""
    results: list[ItemResult | None] = [None] * len(items)
    # Inside the caller's transaction (the import's chunk, a worker's part) the overdue figures
    # of the accounts the three runs touched are computed once, from the chunk's end state: the
    # same figures as three refreshes (the last one decides), in one statement instead of three.
    pending: set[int] | None = set() if connection.in_atomic_block else None
    token = _refresh_pending.set(pending)
    try:
        for kind, ingest in INGESTERS.items():
            indices = [i for i, (k, _item) in enumerate(items) if k == kind]
            if not indices:
                continue
            batch = ingest(actor=actor, items=[items[i][1] for i in indices], reason=reason)
            for i, result in zip(indices, batch, strict=True):
                results[i] = result
    finally:
        _refresh_pending.reset(token)
    if pending:
        delinquency_refresh_accounts(account_ids=pending)
    for i, (kind, item) in enumerate(items):
        if kind not in INGESTERS:
            results[i] = ItemError(
                "invalid",
                _("The item is not valid."),
                {"type": [_("One of: customer, loan, repayment.")]},
            ).result(_reference_of(item))
    return results  # type: ignore[return-value]
