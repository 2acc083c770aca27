"""Notice events of the complaints app (templates in templates/notices/<event>/)."""

_CUSTOMER = ("portal", "email", "sms")
_CUSTOMER_LONG = ("portal", "email")

EVENTS = {
    "complaint.acknowledged": {"channels": _CUSTOMER},
    "complaint.extended": {"channels": _CUSTOMER},
    "complaint.paused": {"channels": _CUSTOMER},
    "complaint.resumed": {"channels": _CUSTOMER},
    "complaint.decided": {"channels": _CUSTOMER_LONG},
    "complaint.message": {"channels": _CUSTOMER_LONG},
    "complaint.review_received": {"channels": _CUSTOMER},
    "complaint.review_decided": {"channels": _CUSTOMER_LONG},
    "staff.complaint_reminder": {"channels": ("email",)},
    "staff.review_reminder": {"channels": ("email",)},
    "staff.complaint_escalation": {"channels": ("email",)},
    "staff.decision_approval": {"channels": ("email",)},
    "staff.decision_returned": {"channels": ("email",)},
    "staff.incident_alert": {"channels": ("email",)},
    "staff.objection_overdue": {"channels": ("email",)},
    "staff.complaint_customer_replied": {"channels": ("email",)},
}
