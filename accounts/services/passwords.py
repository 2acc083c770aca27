"""A customer's password: changed while signed in, or reset with a one-time code (issue 13 item 12).

- `password_change(user=, actor=, reason=, new_password=)`: the new hash, every other session
  signed out (a new security stamp; the caller keeps its own session with
  `update_session_auth_hash`), every API token revoked, history + trail, and a notice to the
  customer ("your password was changed").
- `password_reset_request(identifier=)` -> a ticket (an opaque string the caller keeps in the
  visitor's session). The identifier is a username, a mobile number or an email address. When it
  names an active customer, a 6-digit code goes out by SMS (else email) through the notices app;
  when it names nobody the caller gets a ticket all the same, which no code ever opens. The
  answer never says which (no account enumeration).
- `password_reset_confirm(ticket=, code=, new_password=)` -> the user, or ApplicationError
  ("wrong" / "expired, ask again"). A ticket allows PASSWORD_RESET_MAX_FAILURES wrong tries, and
  one identity at most PASSWORD_RESET_MAX_SENDS_PER_DAY codes a day (wrong tries count across
  resends: a new ticket for the same user starts from the user's count of the day).

The codes are credentials, not domain data (like API tokens, core/tokens.py): they live in the
shared cache (Redis in production, so every worker and node sees them), only as an HMAC keyed by
SECRET_KEY and bound to the ticket, and they expire with it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core import crypto
from core.activity import activity_record
from core.audit import save_with_history, system_actor
from core.errors import ApplicationError
from core.tokens import tokens_revoke
from notices.enums import Channel
from notices.services import notice_enqueue

from ..models import Customer, User, _new_security_stamp

PASSWORD_RESET_CODE_MINUTES = 15
PASSWORD_RESET_MAX_FAILURES = 5
PASSWORD_RESET_MAX_SENDS_PER_DAY = 5
# Both stored as written here (history reasons), in the catalogs through gettext_noop.
CHANGED_REASON = gettext_noop("Password changed by the customer")
RESET_REASON = gettext_noop("Password reset with a one-time code")

_TICKET_PREFIX = "password-reset:ticket:"
_FAILURES_PREFIX = "password-reset:failures:"
_SENDS_PREFIX = "password-reset:sends:"
_DAY = 24 * 3600


def _code_hash(ticket: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"password-reset:{ticket}:{code}".encode(), hashlib.sha256).hexdigest()


def _ticket_key(ticket: str) -> str:
    return _TICKET_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def _user_key(prefix: str, user_id: int) -> str:
    return f"{prefix}{user_id}:{timezone.localdate():%Y%m%d}"


def _count(key: str, ttl: int) -> int:
    """Add one to the counter `key` (created with `ttl`), atomically on Redis; the new value."""
    cache.add(key, 0, ttl)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


def customer_user_for(identifier: str) -> User | None:
    """The active customer (not staff) that `identifier` names: a username, a mobile number
    (through its blind index) or an email address; None for nobody or several."""
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 254 or "\x00" in identifier:
        return None
    users = User.objects.filter(is_active=True, is_staff=False, customer__isnull=False)
    if "@" in identifier:
        found = list(users.filter(email__iexact=identifier)[:2])
    else:
        found = list(users.filter(username__iexact=identifier)[:2])
        if not found and crypto.normalize(identifier).lstrip("+").isdigit():
            customers = Customer.objects.filter(phone_index=crypto.blind_index(identifier))
            found = list(users.filter(customer__in=customers)[:2])
    return found[0] if len(found) == 1 else None


def password_reset_request(*, identifier: str) -> str:
    """A fresh ticket for `identifier`, and a code sent when it names a customer (module doc).
    Known or not, the same work is done up to the send: a ticket is stored with a code hash."""
    ticket = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(10**6):06d}"
    user = customer_user_for(identifier)
    entry = {"user_id": None, "code_hash": _code_hash(ticket, code), "failures": 0}
    ttl = PASSWORD_RESET_CODE_MINUTES * 60
    if user is not None:
        sends = _count(_user_key(_SENDS_PREFIX, user.pk), _DAY)
        if sends <= PASSWORD_RESET_MAX_SENDS_PER_DAY:
            entry["user_id"] = user.pk
            entry["failures"] = int(cache.get(_user_key(_FAILURES_PREFIX, user.pk)) or 0)
            _send_code(user=user, code=code, ticket=ticket)
    cache.set(_ticket_key(ticket), entry, ttl)
    return ticket


@transaction.atomic
def _send_code(*, user: User, code: str, ticket: str) -> None:
    valid_until = timezone.now() + timedelta(minutes=PASSWORD_RESET_CODE_MINUTES)
    customer = user.customer
    channels = (Channel.SMS,) if customer.phone else (Channel.EMAIL,)
    try:
        notice_enqueue(
            event="accounts.password_reset_code",
            recipient=user,
            context={
                "code": code,
                "minutes": PASSWORD_RESET_CODE_MINUTES,
                "valid_until": valid_until,
            },
            actor=system_actor("password-reset"),
            obj=customer,
            channels=channels,
            sensitive=True,
            key=hashlib.sha256(ticket.encode()).hexdigest()[:32],
            expires_at=valid_until,
        )
    except ApplicationError:
        # No phone and no email on file: nothing can be sent, and the page must not say so.
        return


def _refused(message: str, *, code: str) -> ApplicationError:
    return ApplicationError(message, code=code, status=400, fields={"code": [message]})


def password_reset_confirm(*, ticket: str, code: str, new_password: str) -> User:
    """Check `code` against the ticket and set `new_password` (module doc)."""
    key = _ticket_key(ticket or "")
    entry = cache.get(key)
    if not isinstance(entry, dict):
        raise _refused(
            _("This code has expired. Ask for a new one."), code="password_reset_expired"
        )
    user_id = entry["user_id"]
    given = "".join((code or "").split())
    if not hmac.compare_digest(entry["code_hash"], _code_hash(ticket, given)) or user_id is None:
        entry["failures"] = entry.get("failures", 0) + 1
        if user_id is not None:
            failures = _count(_user_key(_FAILURES_PREFIX, user_id), _DAY)
            entry["failures"] = max(entry["failures"], failures)
        if entry["failures"] >= PASSWORD_RESET_MAX_FAILURES:
            cache.delete(key)
            raise _refused(
                _("Too many wrong codes. Ask for a new code later."),
                code="password_reset_too_many",
            )
        cache.set(key, entry, PASSWORD_RESET_CODE_MINUTES * 60)
        raise _refused(_("This code is not correct."), code="password_reset_wrong")
    user = User.objects.get(pk=user_id)
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ApplicationError(
            _("Choose another password."),
            code="invalid",
            status=400,
            fields={"new_password1": list(exc.messages)},
        ) from None
    if not cache.delete(key):  # used at the same moment by another request
        raise _refused(
            _("This code has expired. Ask for a new one."), code="password_reset_expired"
        )
    cache.delete(_user_key(_FAILURES_PREFIX, user_id))
    password_set(user=user, actor=user, reason=RESET_REASON, new_password=new_password)
    return user


@transaction.atomic
def password_set(*, user: User, actor: User, reason: str, new_password: str) -> None:
    """Set the password (already validated), sign out every session and revoke every API token
    (the password hash and a new security stamp invalidate every session hash; the caller may
    keep its own with `update_session_auth_hash`), history and trail, and tell the customer."""
    user.set_password(new_password)
    user.security_stamp = _new_security_stamp()
    save_with_history(
        user, actor=actor, reason=reason, update_fields=["password", "security_stamp"]
    )
    tokens_revoke(user=user)
    activity_record(actor=actor, action="accounts.user.password", reason=reason, obj=user)
    try:
        customer = user.customer
    except Customer.DoesNotExist:
        return
    notice_enqueue(
        event="accounts.password_changed",
        recipient=user,
        context={"name": customer.name, "changed_at": timezone.now()},
        actor=actor,
        obj=customer,
        key=secrets.token_hex(8),
    )


def password_change(*, user: User, actor: User, reason: str, new_password: str) -> None:
    """The signed-in customer's new password (PasswordChangeForm checked the current one and
    ran the validators)."""
    password_set(user=user, actor=actor, reason=reason, new_password=new_password)
