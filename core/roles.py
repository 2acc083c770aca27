"""The names of the staff roles (groups) and the two look-ups every layer needs. Which permissions
each role holds is written in `backoffice/roles.py` (the top layer, which knows every app)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from .permissions import user_group_names

AGENT = "agent"
REVIEWER = "reviewer"
MANAGER = "manager"
RISK_OFFICER = "risk_officer"
AUDITOR = "auditor"

ROLE_LABELS = {
    AGENT: _("Support agent"),
    REVIEWER: _("Reviewer"),
    MANAGER: _("Manager"),
    RISK_OFFICER: _("Risk officer"),
    AUDITOR: _("Auditor"),
}


def user_role(user) -> str | None:
    names = user_group_names(user)
    for role in (MANAGER, REVIEWER, RISK_OFFICER, AGENT, AUDITOR):
        if role in names:
            return role
    return None


def users_in_role(role: str):
    return get_user_model().objects.filter(groups__name=role, is_active=True, is_staff=True)
