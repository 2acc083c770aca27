"""Closure permissions per staff role (merged into backoffice.roles.ROLE_PERMISSIONS)."""

_VIEW = [
    "closures.view_closurerequest",
    "closures.view_closureevent",
    "closures.view_appeal",
]

ROLE_PERMISSIONS = {
    "agent": [*_VIEW, "closures.propose_closure"],
    "risk_officer": [*_VIEW, "closures.propose_closure"],
    "reviewer": [*_VIEW, "closures.approve_closure"],
    "manager": [
        *_VIEW,
        "closures.view_closurealert",
        "closures.change_closurealert",
        "closures.decide_appeal",
        "closures.approve_closure",
    ],
}
