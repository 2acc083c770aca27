"""Notice events of closures and appeals (templates in templates/notices/<event>/<lang>.txt)."""

EVENTS = {
    # One-time code confirming a closure request: SMS or email only, never the portal inbox.
    "closure.code": {"channels": ("sms", "email")},
    "closure.requested": {"channels": ("portal", "email", "sms")},
    "closure.frozen": {"channels": ("portal", "email", "sms")},
    "closure.notice": {"channels": ("portal", "email", "sms")},
    "closure.hold_lifted": {"channels": ("portal", "email", "sms")},
    "closure.withdrawn": {"channels": ("portal", "email")},
    "closure.closed": {"channels": ("portal", "email")},
    "appeal.received": {"channels": ("portal", "email")},
    "appeal.upheld": {"channels": ("portal", "email", "sms")},
    "appeal.dismissed": {"channels": ("portal", "email", "sms")},
    "staff.closure_alert": {"channels": ("email",)},
    "staff.appeal_overdue": {"channels": ("email",)},
    "staff.appeal_reminder": {"channels": ("email",)},
}
