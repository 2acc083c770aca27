"""Every page the admin serves — ours, Django's and the libraries' (groups, OTP devices, API
tokens, axes logs) — tried by every role: what a role may not use answers 403, nothing can be
added or deleted by a read-only role, and the password page asks for the old password."""

from __future__ import annotations

import pytest
from django.contrib import admin

from backoffice import roles

ROLES = ["agent", "reviewer", "manager", "risk_officer", "auditor"]
# Pages of installed libraries that no role of ours may use (superusers only).
LIBRARY_MODELS = {
    "auth.group",
    "otp_totp.totpdevice",
    "otp_static.staticdevice",
    "otp_email.emaildevice",
    "knox.authtoken",
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
}
# Pages whose add form is a service's form (a reason asked, history and trail written), for
# the roles that hold the add permission: an empty POST is refused with field errors.
ADD_FORMS = {("manager", "complaints.cannedreply")}


def _registered() -> list[tuple[str, str, str]]:
    return sorted(
        (model._meta.label_lower, model._meta.app_label, model._meta.model_name)
        for model in admin.site._registry
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_registered_admin_page_by_every_role(role, staff_client):
    client, user, _device = staff_client(role)
    roles.roles_sync()
    held = set(roles.ROLE_PERMISSIONS[role])
    for label, app_label, model_name in _registered():
        listing = client.get(f"/admin/{app_label}/{model_name}/")
        may_view = f"{app_label}.view_{model_name}" in held or (
            f"{app_label}.change_{model_name}" in held
        )
        if label in LIBRARY_MODELS:
            assert listing.status_code == 403, (role, label)
            continue
        assert listing.status_code == (200 if may_view else 403), (role, label)
        add = client.get(f"/admin/{app_label}/{model_name}/add/")
        post = client.post(f"/admin/{app_label}/{model_name}/add/", {})
        if (role, label) in ADD_FORMS:
            assert f"{app_label}.add_{model_name}" in held, (role, label)
            assert add.status_code == 200, (role, label, "add")
            assert post.status_code == 200 and b"errorlist" in post.content, (role, label)
            continue
        assert add.status_code == 403, (role, label, "add")
        assert post.status_code == 403, (role, label, "add POST")


@pytest.mark.django_db
def test_the_password_page_needs_the_old_password(staff_client):
    client, user, _device = staff_client("agent")
    page = client.get("/admin/password_change/")
    assert page.status_code == 200
    assert 'name="old_password"' in page.content.decode()
    refused = client.post(
        "/admin/password_change/",
        {
            "old_password": "wrong",
            "new_password1": "N3w-pass-2026!",
            "new_password2": "N3w-pass-2026!",
        },
    )
    assert refused.status_code == 200  # the form again, with an error
    user.refresh_from_db()
    assert not user.check_password("N3w-pass-2026!")
