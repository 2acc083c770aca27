"""Closure permissions per staff role (merged into backoffice.roles.ROLE_PERMISSIONS)."""

_VIEW = [
    "closures.view_closurerequest",
    "closures.view_closureevent",
    "closures.view_appeal",
    "closures.view_closurecampaign",
]

ROLE_PERMISSIONS = {
    "agent": [*_VIEW, "closures.propose_closure"],
    "risk_officer": [*_VIEW, "closures.propose_closure"],
    "reviewer": [*_VIEW, "closures.approve_closure", "closures.approve_campaign"],
    "manager": [
        *_VIEW,
        "closures.view_closurealert",
        "closures.change_closurealert",
        "closures.decide_appeal",
        "closures.approve_closure",
        # Policy closure campaigns: a manager creates one, another manager or a reviewer
        # approves it (four eyes, closures/services/campaigns.py).
        "closures.create_campaign",
        "closures.approve_campaign",
    ],
}
