"""Staff roles as groups with permissions. The groups are rebuilt from this table after every
migrate, so the table is the single place that says who may do what.

Permissions are "<app_label>.<codename>". Apps add their own custom permissions here.
"""

from __future__ import annotations

from collections.abc import Iterable

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

_VIEW_ACCOUNTS = [
    "accounts.view_user",
    "accounts.view_customer",
    "accounts.view_creditaccount",
    "accounts.view_loanrecord",
    "accounts.view_authorizationevent",
    "accounts.view_repayment",
    "accounts.view_risksignal",
    "accounts.view_creditreportcorrection",
    "notices.view_notice",
]

# Apps extend these lists with their own permissions (complaints.*, closures.*).
# The security hold (freeze / unfreeze admin actions, through accounts.services).
_ACCOUNT_HOLD = ["accounts.change_creditaccount"]
_SECURITY_LOGS = ["core.view_piiaccesslog", "core.view_stepupverification"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    AGENT: [*_VIEW_ACCOUNTS, *_ACCOUNT_HOLD],
    REVIEWER: [*_VIEW_ACCOUNTS, *_ACCOUNT_HOLD],
    MANAGER: [*_VIEW_ACCOUNTS, *_ACCOUNT_HOLD, *_SECURITY_LOGS, "accounts.view_unmasked_pii"],
    RISK_OFFICER: [
        *_VIEW_ACCOUNTS,
        *_ACCOUNT_HOLD,
        "accounts.raise_risk_signal",
        "accounts.add_risksignal",
    ],
    AUDITOR: [*_VIEW_ACCOUNTS],
}


def _extend(role: str, perms: Iterable[str]) -> None:
    for perm in perms:
        if perm not in ROLE_PERMISSIONS[role]:
            ROLE_PERMISSIONS[role].append(perm)


def roles_sync() -> None:
    """Create the role groups and give each exactly the permissions in ROLE_PERMISSIONS."""
    from django.contrib.auth.models import Group, Permission

    _load_app_roles()
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            wanted.extend(
                Permission.objects.filter(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)


def _load_app_roles() -> None:
    """Each app may define ROLE_PERMISSIONS in `<app>/roles.py`; merge them in."""
    import importlib

    for module_name in ("complaints.roles", "closures.roles", "notices.roles"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        for role, perms in getattr(module, "ROLE_PERMISSIONS", {}).items():
            _extend(role, perms)
    # The auditor reads everything and changes nothing: every view_* permission, nothing else.
    from django.contrib.auth.models import Permission

    view_perms = Permission.objects.filter(
        codename__startswith="view_",
        content_type__app_label__in=["accounts", "complaints", "closures", "notices", "core"],
    ).values_list("content_type__app_label", "codename")
    _extend(AUDITOR, [f"{app}.{code}" for app, code in view_perms])


def roles_sync_after_migrate(sender=None, **kwargs) -> None:
    roles_sync()
