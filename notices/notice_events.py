"""Notice events of the outbox itself (staff alerts). See notices/events.py."""

EVENTS = {
    # A notice failed after its last try (or its worker was lost): managers are told.
    "staff.notice_failed": {"channels": ("email",)},
    # A generic staff alert: context `title` (one line) and `text`.
    "staff.alert": {"channels": ("email",)},
}
