"""Staff roles as groups with permissions. The groups are rebuilt from this table after every
migrate (the last app's post_migrate, wired in `apps.py`), so the table is the single place
that says who may do what.

Permissions are "<app_label>.<codename>". The accounts and security-log permissions are listed
here; each app adds its own in `<app>/roles.py` (complaints, closures, notices), merged in by
`roles_sync`. The auditor gets every `view_*` permission of our apps and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.contrib.auth.models import Group, Permission

from closures import roles as closures_roles
from complaints import roles as complaints_roles
from core.roles import (  # noqa: F401 - re-exported for the role table
    AGENT,
    AUDITOR,
    MANAGER,
    REVIEWER,
    RISK_OFFICER,
    ROLE_LABELS,
    user_role,
    users_in_role,
)
from notices import roles as notices_roles

_VIEW_ACCOUNTS = [
    "accounts.view_user",
    "accounts.view_customer",
    "accounts.view_creditaccount",
    "accounts.view_loanrecord",
    "accounts.view_authorizationevent",
    "accounts.view_repayment",
    "accounts.view_risksignal",
    "accounts.view_creditreportcorrection",
    "accounts.view_accountcredit",
    "notices.view_notice",
]

# Apps extend these lists with their own permissions (complaints.*, closures.*).
# The security hold (freeze / unfreeze admin actions, through accounts.services).
_ACCOUNT_HOLD = ["accounts.change_creditaccount"]
_SECURITY_LOGS = ["core.view_piiaccesslog", "core.view_stepupverification"]
# The activity trail and its seals (/admin/audit/): managers and auditors.
_TRAIL = ["core.view_activityentry", "core.view_auditseal"]
# Permissions whose codename starts with view_ but that no read-only role may hold: seeing
# unmasked personal data is for managers only (PRODUCT.md "Security").
NEVER_READ_ONLY = frozenset({"accounts.view_unmasked_pii"})

ROLE_PERMISSIONS: dict[str, list[str]] = {
    AGENT: [*_VIEW_ACCOUNTS, *_ACCOUNT_HOLD],
    REVIEWER: [*_VIEW_ACCOUNTS, *_ACCOUNT_HOLD],
    MANAGER: [
        *_VIEW_ACCOUNTS,
        *_ACCOUNT_HOLD,
        *_SECURITY_LOGS,
        *_TRAIL,
        "accounts.view_unmasked_pii",
        "accounts.pay_out_credit",  # the credit balance leaves the account (accounts.credits)
    ],
    RISK_OFFICER: [
        *_VIEW_ACCOUNTS,
        *_ACCOUNT_HOLD,
        "accounts.raise_risk_signal",
        "accounts.add_risksignal",
    ],
    AUDITOR: [*_VIEW_ACCOUNTS, *_TRAIL],
}


def _extend(role: str, perms: Iterable[str]) -> None:
    for perm in perms:
        if perm not in ROLE_PERMISSIONS[role]:
            ROLE_PERMISSIONS[role].append(perm)


# The partner-interface register (accounts/services/partners.py): every staff role reads it;
# managers and risk officers record audits and propose / approve suspensions (four eyes: never
# their own); managers keep the register itself.
_PARTNERS_VIEW = ["accounts.view_partnerinterface", "accounts.view_partnerinterfacechange"]
_PARTNERS_DECIDE = [
    "accounts.audit_partner_interface",
    "accounts.propose_partner_interface_change",
    "accounts.approve_partner_interface_change",
]
for _role in (AGENT, REVIEWER, MANAGER, RISK_OFFICER):
    _extend(_role, _PARTNERS_VIEW)
_extend(MANAGER, ["accounts.manage_partner_interface", *_PARTNERS_DECIDE])
_extend(RISK_OFFICER, _PARTNERS_DECIDE)


def roles_sync() -> None:
    """Create the role groups and give each exactly the permissions in ROLE_PERMISSIONS."""
    _merge_app_roles()
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


# The apps' own permission tables (`<app>/roles.py`).
APP_ROLES = (complaints_roles, closures_roles, notices_roles)
# The apps whose view_* permissions the auditor holds.
AUDITED_APPS = ["accounts", "complaints", "closures", "notices", "core"]


def _merge_app_roles() -> None:
    """Merge each app's ROLE_PERMISSIONS in, and give the auditor every view_* permission."""
    for module in APP_ROLES:
        for role, perms in module.ROLE_PERMISSIONS.items():
            _extend(role, perms)
    # The auditor reads everything and changes nothing: every view_* permission, nothing else.
    view_perms = Permission.objects.filter(
        codename__startswith="view_", content_type__app_label__in=AUDITED_APPS
    ).values_list("content_type__app_label", "codename")
    _extend(
        AUDITOR,
        [f"{app}.{code}" for app, code in view_perms if f"{app}.{code}" not in NEVER_READ_ONLY],
    )


def roles_sync_after_migrate(sender=None, **kwargs) -> None:
    """post_migrate receiver: sync once, after the LAST app with models has migrated (the
    permissions of every app, accounts, complaints and closures come after backoffice, exist
    only once their own post_migrate has run)."""
    with_models = [config for config in apps.get_app_configs() if config.models_module is not None]
    if with_models and sender is with_models[-1]:
        roles_sync()
