"""How each reason form is sent: admin case actions, admin pages, changelist actions with their
reason page, portal forms and API calls. Each `send(desk, state, text)` returns the response."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from django.test import Client
from rest_framework.test import APIClient

from closures.enums import AppealStatus

from .states import Desk


def case_action(action: str, role: str = "agent", **extra: Any) -> Callable[[Desk, dict, str], Any]:
    """POST the complaint case action `action` with the text as its `reason`."""

    def send(desk: Desk, state: dict, text: str) -> HttpResponse:
        client = desk.stepped_up(role) if action == "approve" else desk.client(role)
        data = {"reason": text, **{k: v(desk) if callable(v) else v for k, v in extra.items()}}
        return client.post(
            f"/admin/complaints/complaint/{state['complaint'].pk}/act/{action}/", data
        )

    return send


def decision_form(field: str) -> Callable[[Desk, dict, str], HttpResponse]:
    """POST the decision form with the text in `field` (reason, compensation_reason or the
    item's reasons) and short values elsewhere."""

    def send(desk: Desk, state: dict, text: str) -> HttpResponse:
        item = state["complaint"].items.get()
        data = {
            "decision_text": "没有授权记录",
            "root_cause": "missing_consent",
            f"item_{item.pk}_outcome": "upheld",
            f"item_{item.pk}_reasons": "授权记录缺失",
            "reason": "decided",
            "compensation_amount": "50.00",
            "compensation_reason": "风险赔付",
        }
        data[f"item_{item.pk}_reasons" if field == "item_reasons" else field] = text
        url = f"/admin/complaints/complaint/{state['complaint'].pk}/act/decide/"
        return desk.client("agent").post(url, data)

    return send


def changelist_action(path: str, action: str, key: str, role: str):
    """POST a changelist action with its reason page confirmed (core.reason_action_response)."""

    def send(desk: Desk, state: dict, text: str) -> HttpResponse:
        data = {
            "action": action,
            "_selected_action": [state[key].pk],
            "reason_confirmed": "1",
            "reason": text,
        }
        return desk.client(role).post(path, data)

    return send


def bulk_action(action: str, role: str = "agent", **extra: Any):
    """POST a queue bulk action (take, assign to) confirmed on its intermediate page."""

    def send(desk: Desk, state: dict, text: str) -> HttpResponse:
        data = {
            "action": action,
            "_selected_action": [state["complaint"].pk],
            "bulk_confirmed": "1",
            "reason": text,
            **{k: v(desk) if callable(v) else v for k, v in extra.items()},
        }
        return desk.client(role).post("/admin/complaints/complaint/", data)

    return send


def closure_step(step: str, role: str) -> Callable[[Desk, dict, str], HttpResponse]:
    def send(desk: Desk, state: dict, text: str) -> HttpResponse:
        client = desk.stepped_up(role)
        url = f"/admin/closures/closurerequest/{state['closure'].pk}/{step}/"
        return client.post(url, {"reason": text})

    return send


def propose(desk: Desk, state: dict, text: str) -> HttpResponse:
    data = {
        "account": state["account"].pk,
        "closure_reason": "overdue",
        "explanation": "您的账户多次逾期。",
        "internal_note": "",
        "reason": text,
    }
    return desk.client("agent").post("/admin/closures/closurerequest/propose/", data)


def appeal_decide(desk: Desk, state: dict, text: str) -> HttpResponse:
    data = {"outcome": AppealStatus.DISMISSED, "decision_text": "维持关闭。", "reason": text}
    return desk.client("manager").post(f"/admin/closures/appeal/{state['appeal'].pk}/decide/", data)


def customer_of(state: dict) -> Any:
    return state["account"].customer.user


def portal_client(desk: Desk, user: Any) -> Client:
    client = Client()
    client.force_login(user, backend="core.permissions.PermissionBackend")
    return client


def api_client(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def portal_review(desk: Desk, state: dict, text: str) -> HttpResponse:
    ref = state["complaint"].reference
    return portal_client(desk, customer_of(state)).post(
        f"/portal/complaints/{ref}/", {"grounds": text}
    )


def portal_appeal(desk: Desk, state: dict, text: str) -> HttpResponse:
    url = f"/portal/appeals/new/?closure={state['closure'].pk}"
    return portal_client(desk, customer_of(state)).post(url, {"grounds": text})


def api_review(desk: Desk, state: dict, text: str) -> HttpResponse:
    url = f"/api/v1/complaints/{state['complaint'].reference}/review/"
    return api_client(customer_of(state)).post(url, {"grounds": text}, format="json")


def api_appeal(desk: Desk, state: dict, text: str) -> HttpResponse:
    body = {"closure": state["closure"].pk, "grounds": text}
    return api_client(customer_of(state)).post("/api/v1/appeals/", body, format="json")


def api_withdraw(desk: Desk, state: dict, text: str) -> HttpResponse:
    url = f"/api/v1/closures/{state['closure'].pk}/withdraw/"
    return api_client(customer_of(state)).post(url, {"reason": text}, format="json")
