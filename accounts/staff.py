"""Staff members: creation with a role and a TOTP device, device enrollment on first login,
deactivation of a member who leaves, and the logged reveal of a customer's unmasked personal
data.

The second factors are core's (core/otp_models.py): a TOTP device whose seed is encrypted at
rest and backup codes stored as keyed hashes, never django-otp's plain-text otp_totp/otp_static
rows."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice as LibraryTOTPDevice

from core import roles
from core.activity import activity_record
from core.audit import SYSTEM_PREFIX, save_with_history
from core.errors import ApplicationError, Forbidden
from core.models import BackupCodeDevice, PiiAccessLog
from core.models import StaffTOTPDevice as TOTPDevice
from core.stepup import stepup_require
from core.tokens import token_issue, tokens_revoke

from . import hooks
from .models import Customer, User
from .services.customers import user_sessions_revoke

BACKUP_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
BACKUP_DEVICE_NAME = "backup codes"
STAFF_ROLES = (roles.AGENT, roles.REVIEWER, roles.MANAGER, roles.RISK_OFFICER, roles.AUDITOR)


def _role_group(role: str) -> Group:
    if role not in STAFF_ROLES:
        raise ApplicationError(
            _("Unknown role %(role)s.") % {"role": role},
            code="invalid",
            status=400,
            fields={"role": [_("Choose one of: %(roles)s.") % {"roles": ", ".join(STAFF_ROLES)}]},
        )
    group = Group.objects.filter(name=role).first()
    if group is None:
        # The groups and their permissions are written by backoffice.roles after every migrate
        # (accounts cannot call it: it sits above accounts).
        raise ApplicationError(
            _("The role groups are missing: run `manage.py migrate` first."),
            code="roles_missing",
        )
    return group


@transaction.atomic
def staff_upsert(
    *,
    actor: User,
    reason: str,
    username: str,
    role: str,
    password: str | None = None,
    email: str | None = None,
) -> tuple[User, TOTPDevice]:
    """Create or update a staff member: active, is_staff, never superuser, in exactly one role
    group, with a new confirmed TOTP device (any old devices and backup codes are replaced).

    A new member created without a password gets an unusable one (set it with
    `manage.py changepassword`)."""
    username = (username or "").strip()
    if not username or username.startswith(SYSTEM_PREFIX):
        raise ApplicationError(
            _("Choose another username."),
            code="invalid",
            status=400,
            fields={"username": [_("Not allowed.")]},
        )
    group = _role_group(role)
    user = User.objects.select_for_update().filter(username=username).first()
    if user is not None and hasattr(user, "customer"):
        raise ApplicationError(
            _("This username belongs to a customer."), code="customer_not_staff", status=400
        )
    if user is None:
        user = User(username=username)
        if not password:
            user.set_unusable_password()
    user.is_staff = True
    user.is_superuser = False
    user.is_active = True
    if password:
        user.set_password(password)
    if email is not None:
        user.email = email
    save_with_history(user, actor=actor, reason=reason)
    role_groups = Group.objects.filter(name__in=STAFF_ROLES).exclude(pk=group.pk)
    user.groups.remove(*role_groups)
    user.groups.add(group)
    user.user_permissions.clear()

    # Credentials, not domain data: the old devices are replaced outright.
    _second_factors_delete(user)
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
    return user, device


def _second_factors_delete(user: User) -> None:
    """Every TOTP device and backup code of `user` (ours and any left in django-otp's tables)."""
    for model in (TOTPDevice, BackupCodeDevice, LibraryTOTPDevice, StaticDevice):
        model.objects.filter(user=user).delete()


@transaction.atomic
def staff_totp_enroll_start(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device a first login enrolls (created once, reused until confirmed)."""
    if not user.is_staff:
        raise Forbidden(_("Only staff members enroll an authenticator here."))
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def staff_totp_enroll_confirm(*, user: User, device_id: int, token: str) -> list[str] | None:
    """Confirm the device with a code from it; returns fresh backup codes (shown once: only
    their hashes are stored), or None when the code is wrong."""
    device = (
        TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False)
    ).first()
    if device is None or not token or not device.verify_token(token.strip()):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    for model in (BackupCodeDevice, LibraryTOTPDevice, StaticDevice):
        model.objects.filter(user=user).delete()
    backup = BackupCodeDevice.objects.create(user=user, name=BACKUP_DEVICE_NAME, confirmed=True)
    return backup.codes_issue(BACKUP_CODE_COUNT)


@transaction.atomic
def staff_deactivate(*, actor: User, reason: str, user_id: int) -> User:
    """A staff member who leaves, in one step: inactive, signed out of every session at once (a
    new security stamp), their API tokens and OTP devices (authenticator, backup codes, email)
    revoked, and their open cases back in the unassigned queue (every app registered with
    `hooks.on_staff_departure`), each with `reason`, in history and the activity trail."""
    if not (actor.is_active and actor.has_perm("accounts.change_user")):
        raise Forbidden(_("You are not allowed to deactivate staff members."))
    if not (reason or "").strip():
        raise ApplicationError(
            _("Give a reason."), code="invalid", status=400, fields={"reason": [_("Required.")]}
        )
    user = User.objects.select_for_update().filter(pk=user_id, is_staff=True).first()
    if user is None:
        raise ApplicationError(_("No such staff member."), code="not_found", status=404)
    if user.pk == actor.pk:
        raise ApplicationError(_("You cannot deactivate yourself."), code="self_deactivation")
    if not user.is_active:
        raise ApplicationError(
            _("%(user)s is already deactivated.") % {"user": user.get_username()},
            code="already_inactive",
            status=409,
        )
    user.is_active = False
    save_with_history(user, actor=actor, reason=reason, update_fields=["is_active"])
    # A new stamp (every session hash stops matching) and the tokens deleted.
    user_sessions_revoke(user=user, actor=actor, reason=reason)
    # Credentials, not domain data: deleted outright, like staff_upsert's replaced devices.
    devices = [
        f"{device._meta.label_lower}:{device.pk}"
        for device in devices_for_user(user, confirmed=None)
    ]
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    activity_record(
        actor=actor,
        action="staff.credentials_revoke",
        reason=reason,
        obj=user,
        changes={"otp_devices": devices, "api_tokens": "revoked", "sessions": "revoked"},
    )
    hooks.staff_departed(user=user, actor=actor, reason=reason)
    return user


# What `manage.py create_service_user NAME --permission P` grants. The lending core's feed
# (issue 15) adds its permission here when it lands.
SERVICE_PERMISSIONS = {"risk": "accounts.raise_risk_signal", "core": "accounts.feed_ledger"}


@transaction.atomic
def service_user_upsert(
    *, actor: User, reason: str, username: str, permission: str
) -> tuple[User, str]:
    """Create or update a service user (the risk engine, the lending core): active, no
    password, not staff, no customer, holding exactly the permission named; its previous API
    tokens are revoked and a new long-lived one (API_SERVICE_TOKEN_TTL) is returned, to be
    shown once."""
    username = (username or "").strip()
    if not username or username.startswith(SYSTEM_PREFIX) or len(username) > 150:
        raise ApplicationError(
            _("Choose another username."),
            code="invalid",
            status=400,
            fields={"username": [_("Not allowed.")]},
        )
    label = SERVICE_PERMISSIONS.get(permission)
    if label is None:
        raise ApplicationError(
            _("Unknown permission %(permission)s.") % {"permission": permission},
            code="invalid",
            status=400,
            fields={"permission": [", ".join(sorted(SERVICE_PERMISSIONS))]},
        )
    app_label, codename = label.split(".", 1)
    grant = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    if grant is None:
        raise ApplicationError(
            _("The permissions are missing: run `manage.py migrate` first."),
            code="permissions_missing",
        )
    user = User.objects.select_for_update().filter(username=username).first()
    if user is not None and (user.is_staff or user.is_superuser or hasattr(user, "customer")):
        raise ApplicationError(
            _("This username belongs to a person, not a service."),
            code="not_a_service_user",
            status=400,
        )
    revoked = 0
    if user is None:
        user = User(username=username)
    else:
        revoked = tokens_revoke(user=user)
    user.set_unusable_password()
    user.is_active = True
    save_with_history(user, actor=actor, reason=reason)
    user.groups.clear()
    user.user_permissions.set([grant])
    _row, token = token_issue(user=user, ttl=settings.API_SERVICE_TOKEN_TTL)
    activity_record(
        actor=actor,
        action="service_user.token_rotate",
        reason=reason,
        obj=user,
        changes={"permission": label, "api_tokens_revoked": revoked, "api_token": "issued"},
    )
    return user, token


@transaction.atomic
def customer_pii_reveal(
    *, actor: User, customer_id: int, ip_address: str | None = None
) -> dict[str, str]:
    """The customer's phone and national ID in clear, for holders of the permission who
    entered a one-time code in the last 15 minutes. Every reveal is logged."""
    if not (actor.is_active and actor.is_staff and actor.has_perm("accounts.view_unmasked_pii")):
        raise Forbidden(_("You may not see unmasked personal data."))
    stepup_require(actor=actor)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise ApplicationError(_("No such customer."), code="not_found", status=404)
    PiiAccessLog.objects.create(
        user=actor,
        subject=f"customer:{customer.pk}",
        fields="phone,national_id",
        ip_address=ip_address,
    )
    activity_record(
        actor=actor,
        action="pii.unmask",
        obj=customer,
        reason="phone, national_id",
        ip=ip_address,
    )
    return {"phone": customer.phone, "national_id": customer.national_id}
