"""Notice events of the accounts app (templates in templates/notices/<event>/<lang>.txt)."""

EVENTS = {
    # A credit-bureau submission that failed, or whose outcome cannot be known.
    "staff.bureau_problem": {"channels": ("email",)},
}
