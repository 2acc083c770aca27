"""Every reason a person types, in every form and API field: 150 characters are a clean success
(the state changed and the record holds the whole text), 1,001 characters a clean field error
(a form error on the page, or 400 with the contract's error body naming the field), never a
500 (the test client re-raises any server error). State is built through the services.

A "reason field" is any "why" that a person types and that is recorded: the history's change
reason (every `reason`), the reasons of a decision (compensation, each disputed item) and a
customer's grounds for a review or an appeal. All are capped at REASON_MAX_LENGTH (1,000).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.forms import BaseForm
from django.http import HttpResponse

from accounts.enums import AccountStatus
from accounts.models import PartnerInterfaceChange
from closures.enums import AppealStatus, ClosureStatus
from closures.models import Appeal, ClosureAlert, ClosureRequest
from complaints.enums import Status
from complaints.models import Compensation, DisputedItem, VerificationRequest
from core.audit import REASON_MAX_LENGTH
from notices.enums import NoticeStatus
from notices.models import Notice

from . import posts, states
from .states import OURS, Desk, history_holds, reason_text

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class ReasonCase:
    id: str
    field: str  # the field that carries the text (and that a 1,001-character error names)
    arrange: Callable[[Desk], dict]  # state through the services; what `send` and `done` need
    send: Callable[[Desk, dict, str], HttpResponse]
    done: Callable[[dict], bool]  # the state changed
    recorded: Callable[[dict, str], bool] = lambda state, text: history_holds(text)
    api: bool = False


# --- Every reason field ------------------------------------------------------------------------

CASES = [
    # complaints: the case actions (/admin/complaints/complaint/<id>/act/<action>/)
    ReasonCase(
        "complaint-assign",
        "reason",
        states.received,
        posts.case_action("assign", assignee=lambda desk: desk.user("reviewer").pk),
        lambda s: states.complaint_of(s).assignee is not None,
    ),
    # complaints: the queue's bulk actions (issue 13 item 5)
    ReasonCase(
        "complaint-bulk-take",
        "reason",
        states.received,
        posts.bulk_action("bulk_take"),
        lambda s: states.complaint_of(s).assignee is not None,
    ),
    ReasonCase(
        "complaint-bulk-assign",
        "reason",
        states.received,
        posts.bulk_action("bulk_assign", assignee=lambda desk: desk.user("reviewer").pk),
        lambda s: states.complaint_of(s).assignee is not None,
    ),
    # accounts: the partner-interface register (issue 15 item 2)
    ReasonCase(
        "partner-interface-propose-suspension",
        "reason",
        states.partner_interface,
        posts.changelist_action(
            "/admin/accounts/partnerinterface/",
            "propose_suspension_selected",
            "interface",
            "manager",
        ),
        lambda s: PartnerInterfaceChange.objects.filter(interface=s["interface"]).exists(),
    ),
    ReasonCase(
        "complaint-extend",
        "reason",
        states.taken,
        posts.case_action("extend"),
        lambda s: states.complaint_of(s).clock_days == 30,
    ),
    ReasonCase(
        "complaint-request-extension",
        "reason",
        states.extended,
        posts.case_action("request_extension"),
        lambda s: states.complaint_of(s).extension_requested_by_id is not None,
    ),
    ReasonCase(
        "complaint-decide-extension",
        "reason",
        states.extension_requested,
        posts.case_action("decide_extension", role="manager", approve="on"),
        lambda s: states.complaint_of(s).clock_days == 60,
    ),
    ReasonCase(
        "complaint-pause",
        "reason",
        states.taken,
        posts.case_action("pause", pause_reason="appraisal"),
        lambda s: states.complaint_of(s).paused_at is not None,
    ),
    ReasonCase(
        "complaint-resume",
        "reason",
        states.paused,
        posts.case_action("resume"),
        lambda s: states.complaint_of(s).paused_at is None,
    ),
    ReasonCase(
        "complaint-decide",
        "reason",
        states.taken,
        posts.decision_form("reason"),
        lambda s: states.complaint_status(s) == Status.PENDING_APPROVAL,
    ),
    ReasonCase(
        "complaint-decide-compensation",
        "compensation_reason",
        states.taken,
        posts.decision_form("compensation_reason"),
        lambda s: states.complaint_status(s) == Status.PENDING_APPROVAL,
        recorded=lambda s, text: Compensation.objects.filter(reason=text).exists(),
    ),
    ReasonCase(
        "complaint-decide-item",
        "item_reasons",
        states.taken,
        posts.decision_form("item_reasons"),
        lambda s: states.complaint_status(s) == Status.PENDING_APPROVAL,
        recorded=lambda s, text: DisputedItem.objects.filter(reasons=text).exists(),
    ),
    ReasonCase(
        "complaint-approve",
        "reason",
        states.pending_approval,
        posts.case_action("approve", role="reviewer"),
        lambda s: states.complaint_status(s) == Status.DECIDED,
    ),
    ReasonCase(
        "complaint-return",
        "reason",
        states.pending_approval,
        posts.case_action("return", role="reviewer"),
        lambda s: states.complaint_status(s) == Status.INVESTIGATING,
    ),
    ReasonCase(
        "complaint-close",
        "reason",
        states.decided,
        posts.case_action("close"),
        lambda s: states.complaint_status(s) == Status.CLOSED,
    ),
    ReasonCase(
        "complaint-review-decide",
        "reason",
        states.under_review,
        posts.case_action(
            "review_decide", role="manager", outcome="dismissed", decision_text="维持原决定"
        ),
        lambda s: states.complaint_status(s) == Status.DECIDED,
    ),
    # accounts: the security hold (changelist actions)
    ReasonCase(
        "account-freeze",
        "reason",
        states.active_account,
        posts.changelist_action(
            "/admin/accounts/creditaccount/", "freeze_accounts", "account", "agent"
        ),
        lambda s: type(s["account"]).objects.get(pk=s["account"].pk).status == AccountStatus.FROZEN,
    ),
    ReasonCase(
        "account-unfreeze",
        "reason",
        states.frozen_account,
        posts.changelist_action(
            "/admin/accounts/creditaccount/", "unfreeze_accounts", "account", "agent"
        ),
        lambda s: type(s["account"]).objects.get(pk=s["account"].pk).status == AccountStatus.ACTIVE,
    ),
    # accounts: the credit balance paid out (issue 12 item 7)
    ReasonCase(
        "account-pay-out-credit",
        "reason",
        states.credit_held,
        posts.changelist_action(
            "/admin/accounts/creditaccount/", "pay_out_credit_balance", "account", "manager"
        ),
        lambda s: type(s["account"]).objects.get(pk=s["account"].pk).credit_balance == 0,
    ),
    # accounts: a staff member who leaves (issue 14 item 17)
    ReasonCase(
        "staff-deactivate",
        "reason",
        states.departing_staff,
        posts.changelist_action("/admin/accounts/user/", "deactivate_staff", "staff", "manager"),
        lambda s: not type(s["staff"]).objects.get(pk=s["staff"].pk).is_active,
    ),
    # notices: resend a failed notice
    ReasonCase(
        "notice-resend",
        "reason",
        states.failed_notice,
        posts.changelist_action("/admin/notices/notice/", "resend", "notice", "agent"),
        lambda s: Notice.objects.get(pk=s["notice"].pk).status == NoticeStatus.PENDING,
    ),
    # notices: an unknown outcome resent (the duplicate risk accepted) or its delivery confirmed
    ReasonCase(
        "notice-resend-unknown",
        "reason",
        states.unknown_notice,
        lambda desk, state, text: desk.client("agent").post(
            "/admin/notices/notice/",
            {
                "action": "resend_unknown",
                "_selected_action": [state["notice"].pk],
                "reason_confirmed": "1",
                "accept_duplicate_risk": "on",
                "reason": text,
            },
        ),
        lambda s: Notice.objects.get(pk=s["notice"].pk).status == NoticeStatus.PENDING,
    ),
    ReasonCase(
        "notice-confirm-delivered",
        "reason",
        states.unknown_notice,
        posts.changelist_action("/admin/notices/notice/", "confirm_delivered", "notice", "agent"),
        lambda s: Notice.objects.get(pk=s["notice"].pk).status == NoticeStatus.SENT,
    ),
    # closures: propose, review, withdraw, the bulk reject, appeals, alerts
    ReasonCase(
        "closure-propose",
        "reason",
        states.active_account,
        posts.propose,
        lambda s: ClosureRequest.objects.filter(account=s["account"]).exists(),
    ),
    ReasonCase(
        "closure-approve",
        "reason",
        states.proposal,
        posts.closure_step("approve", "reviewer"),
        lambda s: states.closure_status(s) == ClosureStatus.APPROVED,
    ),
    ReasonCase(
        "closure-reject",
        "reason",
        states.proposal,
        posts.closure_step("reject", "reviewer"),
        lambda s: states.closure_status(s) == ClosureStatus.REJECTED,
    ),
    ReasonCase(
        "closure-withdraw",
        "reason",
        states.proposal,
        posts.closure_step("withdraw", "agent"),
        lambda s: states.closure_status(s) == ClosureStatus.WITHDRAWN,
    ),
    ReasonCase(
        "closure-reject-selected",
        "reason",
        states.proposal,
        posts.changelist_action(
            "/admin/closures/closurerequest/", "reject_selected", "closure", "reviewer"
        ),
        lambda s: states.closure_status(s) == ClosureStatus.REJECTED,
    ),
    ReasonCase(
        "appeal-decide",
        "reason",
        states.appealed,
        posts.appeal_decide,
        lambda s: Appeal.objects.get(pk=s["appeal"].pk).status == AppealStatus.DISMISSED,
    ),
    ReasonCase(
        "closure-alert-acknowledge",
        "reason",
        states.closure_alert,
        posts.changelist_action("/admin/closures/closurealert/", "acknowledge", "alert", "manager"),
        lambda s: ClosureAlert.objects.get(pk=s["alert"].pk).acknowledged_by_id is not None,
    ),
    # the portal: a customer's grounds
    ReasonCase(
        "portal-review",
        "grounds",
        states.decided,
        posts.portal_review,
        lambda s: states.complaint_status(s) == Status.UNDER_REVIEW,
        recorded=lambda s, text: VerificationRequest.objects.filter(grounds=text).exists(),
    ),
    ReasonCase(
        "portal-appeal",
        "grounds",
        states.closed_account,
        posts.portal_appeal,
        lambda s: Appeal.objects.filter(closure=s["closure"]).exists(),
        recorded=lambda s, text: Appeal.objects.filter(grounds=text).exists(),
    ),
    # the API
    ReasonCase(
        "api-review",
        "grounds",
        states.decided,
        posts.api_review,
        lambda s: states.complaint_status(s) == Status.UNDER_REVIEW,
        recorded=lambda s, text: VerificationRequest.objects.filter(grounds=text).exists(),
        api=True,
    ),
    ReasonCase(
        "api-appeal",
        "grounds",
        states.closed_account,
        posts.api_appeal,
        lambda s: Appeal.objects.filter(closure=s["closure"]).exists(),
        recorded=lambda s, text: Appeal.objects.filter(grounds=text).exists(),
        api=True,
    ),
    ReasonCase(
        "api-closure-withdraw",
        "reason",
        states.customer_closure,
        posts.api_withdraw,
        lambda s: states.closure_status(s) == ClosureStatus.WITHDRAWN,
        api=True,
    ),
]


def _form_errors(response: HttpResponse) -> dict[str, list[str]]:
    """The errors of every form the page rendered (field name -> messages)."""
    errors: dict[str, list[str]] = {}
    for context in response.context or []:
        for value in context.flatten().values() if hasattr(context, "flatten") else []:
            if isinstance(value, BaseForm) and value.is_bound:
                for name, messages in value.errors.items():
                    errors.setdefault(name, []).extend(messages)
    return errors


def _named(errors: dict[str, list[str]], field: str) -> bool:
    if field == "item_reasons":
        return any(name.startswith("item_") and name.endswith("_reasons") for name in errors)
    return field in errors


def _assert_succeeded(case: ReasonCase, response: HttpResponse, state: dict, text: str) -> None:
    if case.api:
        assert 200 <= response.status_code < 300, (response.status_code, response.content[:500])
    else:
        assert response.status_code == 302, (
            response.status_code,
            _form_errors(response) or response.content[:1500],
        )
    assert case.done(state), f"{case.id}: the state did not change"
    assert case.recorded(state, text), f"{case.id}: the whole reason is not recorded"


def _assert_refused(case: ReasonCase, response: HttpResponse, state: dict, text: str) -> None:
    if case.api:
        assert response.status_code == 400, (response.status_code, response.content[:500])
        error = response.json()["error"]
        assert error["code"] == "invalid" and case.field in error.get("fields", {}), error
    else:
        assert response.status_code == 200, (response.status_code, response.content[:500])
        errors = _form_errors(response)
        assert _named(errors, case.field), f"{case.id}: no error on {case.field}: {errors}"
    assert not case.done(state), f"{case.id}: the state changed anyway"
    assert not case.recorded(state, text)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@pytest.mark.parametrize("length", [150, REASON_MAX_LENGTH + 1], ids=["150", "1001"])
def test_reason_of_every_form_and_field(case: ReasonCase, length: int, system_user) -> None:
    desk = Desk(system_user)
    state = case.arrange(desk)
    text = reason_text(length, case.id)
    assert len(text) == length
    response = case.send(desk, state, text)
    if length <= REASON_MAX_LENGTH:
        _assert_succeeded(case, response, state, text)
    else:
        _assert_refused(case, response, state, text)


def test_the_cases_cover_every_reason_action_of_the_admin() -> None:
    """A new admin action with a reason page must be added to CASES."""
    covered = {
        "freeze_accounts",
        "unfreeze_accounts",
        "deactivate_staff",
        "resend",
        "resend_unknown",
        "confirm_delivered",
        "reject_selected",
        "acknowledge",
        "pay_out_credit_balance",
        "bulk_take",
        "bulk_assign",
        "propose_suspension_selected",
    }
    with_reason = set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in OURS:
            continue
        for action in model_admin.actions or ():
            name = action if isinstance(action, str) else action.__name__
            if name != "delete_selected":
                with_reason.add(name)
    assert with_reason <= covered, with_reason - covered
