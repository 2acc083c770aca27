"""Complaint permissions per role (merged into backoffice.roles)."""

_VIEW = [
    "complaints.view_complaint",
    "complaints.view_disputeditem",
    "complaints.view_caseevent",
    "complaints.view_internalnote",
    "complaints.view_compensation",
    "complaints.view_verificationrequest",
    "complaints.view_incidentalert",
    "complaints.view_conversationmessage",
    "complaints.view_conversationattachment",
    "complaints.view_cannedreply",
]

ROLE_PERMISSIONS = {
    "agent": [*_VIEW, "complaints.work_complaint"],
    "reviewer": [*_VIEW, "complaints.work_complaint", "complaints.approve_decision"],
    "manager": [
        *_VIEW,
        "complaints.work_complaint",
        "complaints.approve_decision",
        "complaints.approve_extension",
        "complaints.decide_review",
        "complaints.add_cannedreply",
        "complaints.change_cannedreply",
    ],
    "auditor": [*_VIEW],
}
