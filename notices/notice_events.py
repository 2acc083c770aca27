"""Notice events of the outbox itself (staff alerts). See notices/events.py."""

EVENTS = {
    # A notice failed after its last try (or its worker was lost): managers are told.
    "staff.notice_failed": {"channels": ("email",)},
    # A notice handed to the provider whose acceptance is not known (`unknown`): managers are
    # told once, with what to check before confirming or resending it.
    "staff.notice_unknown": {"channels": ("email",)},
    # A generic staff alert: context `title` (one line) and `text`.
    "staff.alert": {"channels": ("email",)},
}
