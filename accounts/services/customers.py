"""Customers, their logins and their credit accounts: creation, opening, signing out."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from core import crypto
from core.audit import save_with_history
from core.errors import ApplicationError
from core.tokens import tokens_revoke

from ..enums import Language
from ..models import CreditAccount, Customer, User, _new_security_stamp


def account_number_new() -> str:
    return "62" + "".join(secrets.choice("0123456789") for _ in range(14))


@transaction.atomic
def customer_create(
    *,
    actor: User,
    reason: str,
    username: str,
    password: str | None,
    name: str,
    national_id: str,
    phone: str,
    email: str = "",
    preferred_language: str = Language.ZH_HANS,
) -> Customer:
    if Customer.objects.filter(national_id_index=crypto.blind_index(national_id)).exists():
        raise ApplicationError(
            _("A customer with this national ID number already exists."),
            code="duplicate_customer",
            status=400,
            fields={"national_id": [_("Already registered.")]},
        )
    user = User(username=username, email=email, first_name=name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    save_with_history(user, actor=actor, reason=reason)
    customer = Customer(
        user=user,
        name=name,
        national_id=crypto.normalize(national_id),
        national_id_index=crypto.blind_index(national_id),
        phone=crypto.normalize(phone),
        phone_index=crypto.blind_index(phone),
        preferred_language=preferred_language,
    )
    save_with_history(customer, actor=actor, reason=reason)
    return customer


@transaction.atomic
def account_open(
    *,
    actor: User,
    reason: str,
    customer: Customer,
    credit_limit: Decimal,
    interest_free_days: int = 30,
    number: str | None = None,
) -> CreditAccount:
    if credit_limit < 0:
        raise ApplicationError(
            _("The credit limit cannot be negative."),
            code="invalid",
            status=400,
            fields={"credit_limit": [_("Must be zero or more.")]},
        )
    account = CreditAccount(
        number=number or account_number_new(),
        customer=customer,
        credit_limit=credit_limit,
        available_credit=credit_limit,
        interest_free_days=interest_free_days,
    )
    save_with_history(account, actor=actor, reason=reason)
    return account


def user_sessions_revoke(*, user: User, actor: User, reason: str) -> None:
    """Sign the user out everywhere: a new security stamp invalidates every session hash, and
    their API tokens revoked (credentials, not domain data)."""
    tokens_revoke(user=user)
    user.security_stamp = _new_security_stamp()
    save_with_history(user, actor=actor, reason=reason, update_fields=["security_stamp"])
