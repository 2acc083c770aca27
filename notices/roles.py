"""Permissions of the notices app, merged into backoffice.roles.ROLE_PERMISSIONS."""

ROLE_PERMISSIONS = {
    "agent": ["notices.view_notice", "notices.resend_notice"],
    "manager": ["notices.view_notice", "notices.resend_notice"],
}
