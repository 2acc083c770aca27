"""Notice events of the accounts app (templates in templates/notices/<event>/<lang>.txt)."""

EVENTS = {
    # A credit-bureau submission that failed, or whose outcome cannot be known.
    "staff.bureau_problem": {"channels": ("email",)},
    # A partner interface suspended (four eyes, accounts/services/partners.py): managers.
    "staff.partner_interface_suspended": {"channels": ("email",)},
    # Facts the lending core booked that the feed flagged (accounts/services/ingest.py): loans
    # breaking the partner-interface register or booked on an account not lending, repayments
    # beyond what was owed. One notice per batch.
    "staff.ledger_flags": {"channels": ("email",)},
    # The one-time code of a password reset: SMS or email only, never the portal inbox.
    "accounts.password_reset_code": {"channels": ("sms", "email")},
    # The password was changed (in the portal, or by a reset): tell the customer everywhere.
    "accounts.password_changed": {"channels": ("portal", "email", "sms")},
}
