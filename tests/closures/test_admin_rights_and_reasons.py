"""The closures admin pages answer a missing permission with 403 and a missing row with 404; every
closures reason field (admin forms, the API) takes a 150-character reason and refuses a
1,001-character one with a field error, never a 500; a long reason is stored whole."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import CreditReportCorrection
from closures import services
from closures.enums import AppealStatus, ClosureSource, ClosureStatus
from closures.models import ClosureEvent, ClosureRequest
from core.audit import REASON_MAX_LENGTH
from core.errors import ApplicationError
from core.models import StepUpVerification
from core.tokens import token_issue
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk, proposed, sent_code, staff

pytestmark = pytest.mark.django_db

FINE = "r" * 150
TOO_LONG = "r" * (REASON_MAX_LENGTH + 1)


@pytest.fixture
def pending(agent):
    return proposed(account=CreditAccountFactory(), proposer=agent)


@pytest.mark.parametrize(
    ("role", "url"),
    [
        ("reviewer", "/admin/closures/closurerequest/propose/"),
        ("agent", "/admin/closures/closurerequest/{closure}/approve/"),
        ("agent", "/admin/closures/closurerequest/{closure}/reject/"),
        ("reviewer", "/admin/closures/closurerequest/{closure}/withdraw/"),
        ("reviewer", "/admin/closures/appeal/{appeal}/decide/"),
        ("reviewer", "/admin/closures/appeal/{appeal}/take/"),
    ],
)
def test_a_missing_permission_is_403(signed_in, agent, reviewer, system_user, role, url):
    closure = closed_by_risk(
        account=CreditAccountFactory(), proposer=agent, approver=reviewer, actor=system_user
    )
    appeal = services.appeal_file(
        actor=closure.account.customer.user, closure_id=closure.pk, grounds="x"
    )
    client, _user, _device = signed_in(role)
    path = url.format(closure=closure.pk, appeal=appeal.pk)
    assert client.get(path).status_code == 403
    assert client.post(path, {"reason": "x"}).status_code == 403


def test_a_missing_row_is_404(signed_in):
    client, _user, _device = signed_in("manager")
    assert client.get("/admin/closures/closurerequest/999999/reject/").status_code == 404
    assert client.get("/admin/closures/appeal/999999/decide/").status_code == 404
    assert client.get("/admin/closures/appeal/999999/attachment/").status_code == 404


def test_a_risk_officers_proposal_says_so(signed_in):
    account = CreditAccountFactory()
    client, user, _device = signed_in("risk_officer")
    data = {"account": account.pk, "closure_reason": "overdue", "explanation": "逾期",
            "reason": FINE}  # fmt: skip
    r = client.post("/admin/closures/closurerequest/propose/", data)
    assert r.status_code == 302, r.content[:2000]
    closure = ClosureRequest.objects.get(account=account)
    assert closure.source == ClosureSource.RISK_OFFICER and closure.proposed_by == user
    assert closure.history.get().history_change_reason == FINE


def test_propose_form_caps_the_reason(signed_in):
    account = CreditAccountFactory()
    client, _user, _device = signed_in("agent")
    data = {"account": account.pk, "closure_reason": "overdue", "explanation": "逾期",
            "reason": TOO_LONG}  # fmt: skip
    r = client.post("/admin/closures/closurerequest/propose/", data)
    assert r.status_code == 200 and "reason" in r.context["form"].errors
    assert not ClosureRequest.objects.filter(account=account).exists()
    r = client.post("/admin/closures/closurerequest/propose/", {**data, "reason": FINE})
    assert r.status_code == 302
    assert ClosureRequest.objects.get(account=account).source == ClosureSource.AGENT


@pytest.mark.parametrize("step", ["approve", "reject"])
def test_review_forms_cap_the_reason(signed_in, pending, step):
    client, user, _device = signed_in("reviewer")
    StepUpVerification.objects.create(
        user=user, purpose="test", session_key=client.session.session_key
    )
    url = f"/admin/closures/closurerequest/{pending.pk}/{step}/"
    r = client.post(url, {"reason": TOO_LONG})
    assert r.status_code == 200 and "reason" in r.context["form"].errors
    r = client.post(url, {"reason": FINE})
    assert r.status_code == 302
    pending.refresh_from_db()
    assert (
        pending.status
        == {"approve": ClosureStatus.APPROVED, "reject": ClosureStatus.REJECTED}[step]
    )
    assert pending.history.first().history_change_reason == FINE


def test_withdraw_form_caps_the_reason(signed_in):
    client, user, _device = signed_in("agent")
    closure = proposed(account=CreditAccountFactory(), proposer=user)
    url = f"/admin/closures/closurerequest/{closure.pk}/withdraw/"
    r = client.post(url, {"reason": TOO_LONG})
    assert r.status_code == 200 and "reason" in r.context["form"].errors
    assert client.post(url, {"reason": FINE}).status_code == 302
    closure.refresh_from_db()
    assert closure.status == ClosureStatus.WITHDRAWN


def test_decide_form_caps_the_reason(signed_in, agent, reviewer, system_user):
    closure = closed_by_risk(
        account=CreditAccountFactory(), proposer=agent, approver=reviewer, actor=system_user
    )
    appeal = services.appeal_file(
        actor=closure.account.customer.user, closure_id=closure.pk, grounds="x"
    )
    client, _user, _device = signed_in("manager")
    url = f"/admin/closures/appeal/{appeal.pk}/decide/"
    data = {"outcome": "dismissed", "decision_text": "属实", "reason": TOO_LONG}
    r = client.post(url, data)
    assert r.status_code == 200 and "reason" in r.context["form"].errors
    assert client.post(url, {**data, "reason": FINE}).status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == AppealStatus.DISMISSED
    assert closure.events.get(kind="appeal_dismissed").reason == FINE


def test_api_withdraw_caps_the_reason():
    account = CreditAccountFactory()
    user = account.customer.user
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)[1]}")
    closure = services.closure_request_by_customer(actor=user, account_id=account.pk)
    services.closure_confirm(actor=user, closure_id=closure.pk, otp=sent_code(user))
    url = f"/api/v1/closures/{closure.pk}/withdraw/"
    r = client.post(url, {"reason": TOO_LONG}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = client.post(url, {"reason": FINE}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert closure.events.get(kind="withdrawn").reason == FINE


def test_upheld_with_the_longest_reason_is_stored_whole(agent, reviewer, manager, system_user):
    """The reversal prefixes the reason ("appeal <ref> upheld: ..."): history, the event and the
    bureau correction keep all of it."""

    longest = "长" * REASON_MAX_LENGTH
    closure = closed_by_risk(
        account=CreditAccountFactory(overdue_count=4),
        proposer=agent,
        approver=reviewer,
        actor=system_user,
    )
    appeal = services.appeal_file(
        actor=closure.account.customer.user, closure_id=closure.pk, grounds="x"
    )
    services.appeal_decide(
        actor=manager, appeal_id=appeal.pk, outcome="upheld", decision_text="恢复", reason=longest
    )
    why = f"appeal {appeal.reference} upheld: {longest}"
    closure.refresh_from_db()
    assert closure.history.first().history_change_reason == why
    assert closure.account.history.first().history_change_reason == why
    assert ClosureEvent.objects.get(closure=closure, kind="reversed").reason == why
    assert CreditReportCorrection.objects.get(account=closure.account).reason == why


def test_risk_engine_authority_is_checked_in_the_service():
    account = CreditAccountFactory()
    with pytest.raises(ApplicationError) as exc:
        services.risk_signal_ingest(
            actor=staff("agent"), account_id=account.pk, kind="suspected_fraud", severity="high"
        )
    assert exc.value.code == "permission_denied"
    _signal, closure = services.risk_signal_ingest(
        actor=staff("risk_officer"), account_id=account.pk, kind="suspected_fraud", severity="high"
    )
    assert closure.source == ClosureSource.RISK_ENGINE and closure.froze_account
