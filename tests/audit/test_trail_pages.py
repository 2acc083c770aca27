"""The managers' view of the trail, the history pages nobody can restore from, and who may see
unmasked personal data — each tried as every role would, through the real signed-in admin."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.enums import AccountStatus
from accounts.models import CreditAccount
from core.activity import activity_record
from core.models import ActivityEntry
from tests.factories import CreditAccountFactory

ROLES = ["agent", "reviewer", "manager", "risk_officer", "auditor"]
VIEWERS = {"manager", "auditor"}


@pytest.fixture
def frozen(system_user) -> CreditAccount:
    account = CreditAccountFactory()
    account_services.account_freeze(actor=system_user, reason="fraud hold", account_id=account.pk)
    return CreditAccount.objects.get(pk=account.pk)


def _history_ids(model, pk) -> list[int]:
    return list(
        model.history.filter(id=pk).order_by("history_id").values_list("history_id", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_no_role_can_restore_an_old_version(role, staff_client, frozen):
    client, _user, _device = staff_client(role)
    first = _history_ids(CreditAccount, frozen.pk)[0]  # the `active` version
    url = f"/admin/accounts/creditaccount/{frozen.pk}/history/{first}/"
    assert client.get(url).status_code == 403
    response = client.post(url, {"_save": "1", "status": "active"})
    assert response.status_code == 403
    frozen.refresh_from_db()
    assert frozen.status == AccountStatus.FROZEN
    assert len(_history_ids(CreditAccount, frozen.pk)) == 2


@pytest.mark.django_db
def test_history_pages_of_every_app_refuse_a_restore(staff_client, system_user):
    """Base models of all four apps plus the user admin: the revert URL is 403 for a manager
    (who can see every history page)."""
    from notices.models import Notice
    from tests.factories.complaints import account_with_loans

    client, user, _device = staff_client("manager")
    account, loans = account_with_loans(actor=system_user, amounts=("100.00",))
    from complaints import services as complaint_services
    from complaints.enums import Category, Channel

    complaint = complaint_services.complaint_submit(
        actor=account.customer.user,
        reason="portal",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="不是我借的",
        channel=Channel.PORTAL,
        account_id=account.pk,
        loan_record_ids=[loans[0].pk],
    )
    from closures import services as closure_services
    from closures.enums import ClosureReason
    from tests.factories.complaints import staff

    closure = closure_services.closure_propose(
        actor=staff("agent"),
        reason="policy",
        account_id=account.pk,
        closure_reason=ClosureReason.POLICY_HIGH_RISK,
        explanation="高风险",
    )
    notice = Notice.objects.filter(recipient=account.customer.user).first()
    objects = [
        ("complaints/complaint", complaint),
        ("closures/closurerequest", closure),
        ("notices/notice", notice),
        ("accounts/user", user),
    ]
    for path, obj in objects:
        version = obj.history.order_by("history_id").values_list("history_id", flat=True).first()
        url = f"/admin/{path}/{obj.pk}/history/{version}/"
        assert client.post(url, {"_save": "1"}).status_code == 403, url
        assert client.get(url).status_code == 403, url
        history_page = client.get(f"/admin/{path}/{obj.pk}/history/")
        assert history_page.status_code == 200, path
        assert f"/history/{version}/" not in history_page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_trail_is_for_managers_and_auditors_only(role, staff_client, frozen):
    client, _user, _device = staff_client(role)
    response = client.get("/admin/audit/")
    assert response.status_code == (200 if role in VIEWERS else 403)
    csv_response = client.get("/admin/audit/?format=csv")
    assert csv_response.status_code == (200 if role in VIEWERS else 403)
    timeline = client.get(f"/admin/audit/timeline/accounts.creditaccount/{frozen.pk}/")
    assert timeline.status_code == (200 if role in VIEWERS else 403)


@pytest.mark.django_db
def test_an_agents_week_filtered_by_person_and_object(staff_client, make_staff, frozen):
    client, _manager, _device = staff_client("manager")
    agent, _ = make_staff("agent", username="agent-x")
    account_services.account_unfreeze(actor=agent, reason="核实无误，解冻", account_id=frozen.pk)
    page = client.get("/admin/audit/", {"actor": "agent-x"}).content.decode()
    assert "核实无误，解冻" in page
    assert "fraud hold" not in page  # the system actor's freeze is not the agent's
    assert f"/admin/accounts/creditaccount/{frozen.pk}/change/" in page
    by_object = client.get(
        "/admin/audit/", {"object": f"accounts.creditaccount:{frozen.pk}"}
    ).content.decode()
    assert "核实无误，解冻" in by_object and "fraud hold" in by_object


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, message",
    [
        ({"actor": "nobody-here"}, "nobody-here"),
        ({"from": "2026-13-40"}, "date"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "before"),
        ({"object": "nosuch.model:1"}, "nosuch.model"),
        ({"object": "accounts.creditaccount"}, "after the colon"),
        ({"after": "not-a-cursor"}, "page link"),
    ],
)
def test_bad_filters_say_so_and_never_500(query, message, staff_client):
    client, _user, _device = staff_client("auditor")
    response = client.get("/admin/audit/", {**query, "lang": "en"})
    assert response.status_code == 200
    assert message.lower() in response.content.decode().lower()


@pytest.mark.django_db
def test_csv_export_has_the_contract_columns_and_a_bom(staff_client, frozen, make_staff):
    client, _user, _device = staff_client("auditor")
    response = client.get(
        "/admin/audit/", {"format": "csv", "object": f"accounts.creditaccount:{frozen.pk}"}
    )
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0] == [
        "at",
        "actor",
        "action",
        "object_type",
        "object_id",
        "object_label",
        "reason",
        "ip",
    ]
    assert "fraud hold" in [r[6] for r in rows[1:]]
    assert all(r[3] == "accounts.creditaccount" for r in rows[1:])


@pytest.mark.django_db
def test_the_trail_page_runs_a_fixed_number_of_queries(staff_client, system_user):
    client, _user, _device = staff_client("manager")

    def page_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/admin/audit/", {"actor": system_user.username}).status_code == 200
        return len(ctx)

    for i in range(3):
        activity_record(actor=system_user, action="test.row", reason=f"r{i}")
    few = page_queries()
    for i in range(120):
        activity_record(actor=system_user, action="test.row", reason=f"r{i}")
    assert ActivityEntry.objects.filter(actor=system_user).count() > 100
    assert page_queries() == few


@pytest.mark.django_db
def test_sign_ins_and_failures_are_in_the_trail(staff_client, client):
    _staff, user, _device = staff_client("agent")
    login = ActivityEntry.objects.get(action="auth.login", actor=user)
    assert login.ip_address == "127.0.0.1" and len(login.request_id) == 32
    client.post("/admin/login/", {"username": user.username, "password": "wrong", "otp_token": "1"})
    assert ActivityEntry.objects.filter(
        action="auth.login_failed", object_label=user.username
    ).exists()


@pytest.mark.django_db
def test_a_nul_byte_in_a_filter_is_a_400_not_a_500(staff_client):
    client, _user, _device = staff_client("auditor")
    assert client.get("/admin/audit/", {"actor": "a\x00b"}).status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("role, shown", [("manager", True), ("auditor", True), ("agent", False)])
def test_every_object_page_links_its_timeline(role, shown, staff_client, frozen):
    client, _user, _device = staff_client(role)
    page = client.get(f"/admin/accounts/creditaccount/{frozen.pk}/change/").content.decode()
    link = f"/admin/audit/timeline/accounts.creditaccount/{frozen.pk}/"
    assert (link in page) is shown
    if shown:
        timeline = client.get(link).content.decode()
        assert "fraud hold" in timeline
