"""Each role holds exactly the permissions written in backoffice/roles.py, and the sensitive
ones only where PRODUCT.md puts them (unmasking for managers, the trail for managers and
auditors, nothing but reading for auditors)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from backoffice import roles

SENSITIVE = {
    "accounts.view_unmasked_pii": {"manager"},
    "core.view_activityentry": {"manager", "auditor"},
    "core.view_auditseal": {"manager", "auditor"},
    "complaints.approve_decision": {"reviewer", "manager"},
    "complaints.decide_review": {"manager"},
    "accounts.raise_risk_signal": {"risk_officer"},
}


def _group_perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{app}.{code}"
        for app, code in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.mark.django_db
def test_each_group_holds_exactly_its_written_permissions():
    roles.roles_sync()
    for role in roles.ROLE_LABELS:
        assert _group_perms(role) == set(roles.ROLE_PERMISSIONS[role]), role


@pytest.mark.django_db
def test_sensitive_permissions_sit_only_with_their_roles():
    roles.roles_sync()
    for perm, holders in SENSITIVE.items():
        have = {role for role in roles.ROLE_LABELS if perm in _group_perms(role)}
        assert have == holders, perm


@pytest.mark.django_db
def test_the_auditor_only_reads():
    roles.roles_sync()
    perms = _group_perms(roles.AUDITOR)
    assert perms, "the auditor reads something"
    assert all(p.split(".", 1)[1].startswith("view_") for p in perms), perms
    assert "accounts.view_unmasked_pii" not in perms
