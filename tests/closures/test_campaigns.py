"""Policy closure campaigns (issue 15 item 3): the segment and its preview, four eyes with
step-up, the run in resumable batches with a constant number of queries, each closure's own
notice and appeal right, the monitoring's single summary, stopping, and bad input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.enums import AccountStatus, Language, LoanKind, RiskSignalKind, Severity
from accounts.models import AccountDelinquency, CreditAccount
from accounts.services import risk_signal_raise
from closures import services
from closures.enums import (
    AlertRule,
    CampaignStatus,
    ClosureEventKind,
    ClosureSource,
    ClosureStatus,
)
from closures.models import ClosureAlert, ClosureCampaign, ClosureEvent, ClosureRequest
from closures.services import campaigns
from core.errors import ApplicationError
from core.models import ActivityEntry
from notices.models import Notice
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory
from tests.factories.closures import staff

pytestmark = pytest.mark.django_db

ZH = "因产品调整，我们将停止提供该信用账户服务。"
EN = "We are retiring this credit product, so this account will be closed."


@pytest.fixture
def manager(db):
    return staff("manager")


@pytest.fixture
def reviewer(db):
    return staff("reviewer")


def _account(*, language=Language.ZH_HANS, **kwargs) -> CreditAccount:
    return CreditAccountFactory(customer=CustomerFactory(preferred_language=language), **kwargs)


def _cash_accounts(n: int, **kwargs) -> list[CreditAccount]:
    accounts = [_account(**kwargs) for _ in range(n)]
    for account in accounts:
        LoanRecordFactory(account=account, kind=LoanKind.CASH)
    return accounts


def _create(manager, segment=None, **kwargs) -> ClosureCampaign:
    return services.campaign_create(
        actor=manager,
        reason="retire the cash product",
        title=kwargs.pop("title", "现金分期产品下线"),
        closure_reason=kwargs.pop("closure_reason", "product_change"),
        segment=segment if segment is not None else {"loan_kind": "cash"},
        explanation_zh=ZH,
        explanation_en=EN,
        **kwargs,
    )


def _approved(manager, reviewer, segment=None) -> ClosureCampaign:
    campaign = _create(manager, segment)
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    return services.campaign_approve(
        actor=reviewer, campaign_id=campaign.pk, reason="segment checked"
    )


# --- The segment and its preview ------------------------------------------------------------------


def test_each_criterion_matches_only_its_accounts(system_user):
    now = timezone.now()
    plain = _account()
    cash = _account()
    LoanRecordFactory(account=cash, kind=LoanKind.CASH)
    via_partner = _account()
    LoanRecordFactory(account=via_partner, partner_interface="PI-007")
    flagged = _account()
    risk_signal_raise(
        actor=system_user,
        reason="t",
        account_id=flagged.pk,
        kind=RiskSignalKind.POLICY,
        severity=Severity.MEDIUM,
    )
    late = _account()
    AccountDelinquency.objects.create(
        account=late,
        overdue_count=2,
        overdue_open=2,
        amount_past_due=Decimal("800.00"),
        oldest_past_due_on=date.today() - timedelta(days=40),
    )
    old = _account(opened_at=now - timedelta(days=800))
    closed = _account(
        status=AccountStatus.CLOSED, closed_at=now, opened_at=now - timedelta(days=900)
    )
    LoanRecordFactory(account=closed, kind=LoanKind.CASH)

    def matched(segment, at=None):
        clean = campaigns.segment_clean(segment)
        preview = campaigns.segment_preview(segment=clean, now=at or timezone.now())
        return {row["account"] for row in preview.sample}

    assert matched({"loan_kind": "cash"}) == {cash.pk}  # the closed account never matches
    assert matched({"partner_interface": "PI-007"}) == {via_partner.pk}
    assert matched({"partner_interface": "PI-007", "loan_kind": "cash"}) == set()
    assert matched({"risk_signal_kind": "policy"}) == {flagged.pk}
    assert matched({"overdue_min_days": 30}) == {late.pk}
    assert matched({"overdue_min_days": 41}) == set()
    assert matched({"overdue_min_amount": "800"}) == {late.pk}
    assert matched({"overdue_min_amount": "800.01"}) == set()
    assert matched({"account_age_min_days": 700}) == {old.pk}
    everyone = matched({"account_age_min_days": 0})
    assert plain.pk in everyone and closed.pk not in everyone
    assert len(everyone) == 6  # every open account


def test_create_counts_and_samples_before_anything_is_done(manager):
    accounts = _cash_accounts(12)
    campaign = _create(manager)
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.matched_count == 12
    assert [row["account"] for row in campaign.sample] == [a.pk for a in accounts[:10]]
    assert campaign.sample[0]["number_masked"] == f"**** {accounts[0].number[-4:]}"
    assert not ClosureRequest.objects.exists()
    history = campaign.history.get()
    assert history.history_user == manager and history.history_change_reason == (
        "retire the cash product"
    )


def test_a_segment_of_no_account_cannot_be_submitted_and_a_large_one_says_so(
    manager, reviewer, settings
):
    campaign = _create(manager)
    assert campaign.matched_count == 0
    with pytest.raises(ApplicationError) as exc:
        services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="go")
    assert exc.value.code == "campaign_empty"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT

    settings.CLOSURE_CAMPAIGN_LARGE = 3
    _cash_accounts(3)
    preview = campaigns.segment_preview(segment={"loan_kind": "cash"})
    assert preview.count == 3 and preview.is_large


def test_accounts_gone_by_approval_are_refused_then(manager, reviewer, system_user):
    (account,) = _cash_accounts(1)
    campaign = _create(manager)
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    CreditAccount.objects.filter(pk=account.pk).update(
        status=AccountStatus.CLOSED, closed_at=timezone.now()
    )
    with pytest.raises(ApplicationError) as exc:
        services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="ok")
    assert exc.value.code == "campaign_empty"


@pytest.mark.parametrize(
    ("segment", "field"),
    [
        ({}, "__all__"),
        ({"loan_kind": "mortgage"}, "loan_kind"),
        ({"partner_interface": "PI\x00007"}, "partner_interface"),
        ({"partner_interface": "P" * 65}, "partner_interface"),
        ({"overdue_min_days": "10" * 20}, "overdue_min_days"),
        ({"overdue_min_days": "-3"}, "overdue_min_days"),
        ({"overdue_min_amount": "NaN"}, "overdue_min_amount"),
        ({"overdue_min_amount": "0"}, "overdue_min_amount"),
        ({"account_age_min_days": "abc"}, "account_age_min_days"),
    ],
)
def test_bad_segment_is_a_field_error(manager, segment, field):
    with pytest.raises(ApplicationError) as exc:
        _create(manager, segment)
    assert exc.value.status == 400 and field in exc.value.fields
    assert not ClosureCampaign.objects.exists()


def test_bad_texts_are_field_errors(manager):
    with pytest.raises(ApplicationError) as exc:
        services.campaign_create(
            actor=manager, reason="r", title="t", closure_reason="product_change",
            segment={"loan_kind": "cash"}, explanation_zh="原因\x00", explanation_en=EN,
        )  # fmt: skip
    assert "explanation_zh" in exc.value.fields
    with pytest.raises(ApplicationError) as exc:
        services.campaign_create(
            actor=manager, reason="r", title="t", closure_reason="overdue",
            segment={"loan_kind": "cash"}, explanation_zh=ZH, explanation_en=EN,
        )  # fmt: skip
    assert "closure_reason" in exc.value.fields


# --- Four eyes, step-up ---------------------------------------------------------------------------


def test_only_another_reviewer_with_a_fresh_code_approves(manager, system_user):
    _cash_accounts(2)
    campaign = _create(manager)
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    with pytest.raises(ApplicationError) as exc:
        services.campaign_approve(actor=manager, campaign_id=campaign.pk, reason="mine")
    assert exc.value.code == "maker_checker"
    stale = staff("reviewer", fresh=False)
    with pytest.raises(ApplicationError) as exc:
        services.campaign_approve(actor=stale, campaign_id=campaign.pk, reason="ok")
    assert exc.value.code == "stepup_required"
    with pytest.raises(ApplicationError) as exc:
        services.campaign_approve(actor=staff("agent"), campaign_id=campaign.pk, reason="ok")
    assert exc.value.code == "permission_denied"
    with pytest.raises(ApplicationError) as exc:
        services.campaign_approve(actor=system_user, campaign_id=campaign.pk, reason="ok")
    assert exc.value.code == "maker_checker"
    with pytest.raises(ApplicationError) as exc:
        services.campaign_create(
            actor=staff("reviewer"), reason="r", title="t", closure_reason="product_change",
            segment={"loan_kind": "cash"}, explanation_zh=ZH, explanation_en=EN,
        )  # fmt: skip
    assert exc.value.code == "permission_denied"

    other_manager = staff("manager")
    campaign = services.campaign_approve(
        actor=other_manager, campaign_id=campaign.pk, reason="segment checked"
    )
    assert campaign.status == CampaignStatus.APPROVED
    assert campaign.approved_by == other_manager
    assert campaign.history.first().history_change_reason == "segment checked"
    with pytest.raises(ApplicationError) as exc:
        services.campaign_reject(actor=reviewer_of(), campaign_id=campaign.pk, reason="no")
    assert exc.value.code == "invalid_campaign_transition"


def reviewer_of():
    return staff("reviewer")


def test_reject(manager, reviewer):
    _cash_accounts(1)
    campaign = _create(manager)
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    with pytest.raises(ApplicationError):
        services.campaign_reject(actor=manager, campaign_id=campaign.pk, reason="mine")
    campaign = services.campaign_reject(actor=reviewer, campaign_id=campaign.pk, reason="too wide")
    assert campaign.status == CampaignStatus.REJECTED and campaign.decided_by == reviewer
    assert campaigns.campaign_run_batch(campaign_id=campaign.pk).proposed == 0
    assert not ClosureRequest.objects.exists()


# --- The run --------------------------------------------------------------------------------------


def test_run_writes_one_approved_closure_per_account_with_its_notice_and_appeal_right(
    manager, reviewer, django_capture_on_commit_callbacks
):
    zh_account, en_account = _cash_accounts(1) + _cash_accounts(1, language=Language.EN)
    other = _account()
    campaign = _approved(manager, reviewer)
    with django_capture_on_commit_callbacks(execute=False):
        campaign = campaigns.campaign_run(campaign_id=campaign.pk)
    assert campaign.status == CampaignStatus.DONE
    assert (campaign.proposed_count, campaign.notified_count) == (2, 2)
    closures = {c.account_id: c for c in ClosureRequest.objects.filter(campaign=campaign)}
    assert set(closures) == {zh_account.pk, en_account.pk}
    assert not ClosureRequest.objects.filter(account=other).exists()
    closure = closures[en_account.pk]
    assert closure.status == ClosureStatus.APPROVED
    assert closure.source == ClosureSource.CAMPAIGN
    assert closure.reason == "product_change"
    assert (closure.proposed_by, closure.approved_by) == (manager, reviewer)
    assert closure.notice_days == 30
    assert closure.effective_at == closure.notice_sent_at + timedelta(days=30)
    assert closure.appeal_deadline > closure.notice_sent_at + timedelta(days=29)
    assert closure.explanation == EN and closures[zh_account.pk].explanation == ZH
    (evidence,) = closure.evidence
    assert evidence["campaign"] == campaign.pk
    assert evidence["segment"] == {"loan_kind": "cash"}
    assert evidence["matched"] == 2
    assert evidence["figures"]["status"] == "active"
    kinds = list(closure.events.order_by("at", "pk").values_list("kind", "actor_id", "reason"))
    assert kinds == [
        (
            ClosureEventKind.PROPOSED,
            manager.pk,
            f"closure campaign #{campaign.pk}: 现金分期产品下线",
        ),
        (ClosureEventKind.APPROVED, reviewer.pk, "segment checked"),
        (ClosureEventKind.NOTICE_SENT, reviewer.pk, ""),
    ]
    history = closure.history.get()
    assert history.history_user == reviewer
    assert history.history_change_reason.startswith(f"closure campaign #{campaign.pk} approved")
    assert ActivityEntry.objects.filter(
        object_type="closures.closurerequest", object_id=str(closure.pk), actor=reviewer
    ).exists()

    notices = Notice.objects.filter(event="closure.notice", object_id=str(closure.pk))
    assert {n.channel for n in notices} >= {"portal", "email"}
    portal = notices.get(channel="portal")
    assert portal.recipient == en_account.customer.user and portal.language == "en"
    assert EN in portal.body and "/portal/appeals/new/?closure=" in portal.body
    zh_portal = Notice.objects.get(
        event="closure.notice", channel="portal", object_id=str(closures[zh_account.pk].pk)
    )
    assert ZH in zh_portal.body and zh_portal.language == "zh-hans"

    appeal = services.appeal_file(
        actor=en_account.customer.user, closure_id=closure.pk, grounds="I still use it"
    )
    upheld = services.appeal_decide(
        actor=staff("manager"),
        appeal_id=appeal.pk,
        outcome="upheld",
        decision_text="You keep the account.",
        reason="customer is active",
    )
    closure.refresh_from_db()
    assert upheld.status == "upheld" and closure.status == ClosureStatus.REVERSED
    progress = campaigns.campaign_progress(campaign)
    assert progress["appealed"] == 1 and progress["upheld"] == 1
    assert progress["reversed"] == 1 and progress["approved"] == 1


def test_batches_resume_after_the_cursor_and_never_write_twice(manager, reviewer):
    accounts = _cash_accounts(5)
    campaign = _approved(manager, reviewer)
    first = campaigns.campaign_run_batch(campaign_id=campaign.pk, batch_size=2)
    assert (first.picked, first.proposed, first.finished) == (2, 2, False)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING and campaign.cursor == accounts[1].pk
    # A worker lost here: a new run goes on after the cursor.
    campaign = campaigns.campaign_run(campaign_id=campaign.pk, batch_size=2)
    assert campaign.status == CampaignStatus.DONE and campaign.batches == 3
    assert campaign.proposed_count == 5
    assert ClosureRequest.objects.filter(campaign=campaign).count() == 5
    again = campaigns.campaign_run_batch(campaign_id=campaign.pk, batch_size=2)
    assert again.proposed == 0 and again.finished
    assert ClosureRequest.objects.filter(campaign=campaign).count() == 5


def test_an_account_with_a_closure_in_progress_is_skipped(manager, reviewer, system_user):
    busy, free = _cash_accounts(2)
    services.closure_propose(
        actor=staff("agent"), reason="t", account_id=busy.pk, closure_reason="overdue",
        explanation="逾期",
    )  # fmt: skip
    campaign = campaigns.campaign_run(campaign_id=_approved(manager, reviewer).pk)
    assert list(
        ClosureRequest.objects.filter(campaign=campaign).values_list("account_id", flat=True)
    ) == [free.pk]


def _batch_queries(campaign_id: int, size: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        result = campaigns.campaign_run_batch(campaign_id=campaign_id, batch_size=size)
    assert result.proposed == size
    return len(ctx.captured_queries)


def test_queries_per_batch_do_not_grow_with_the_batch(manager, reviewer):
    _cash_accounts(33)
    campaign = _approved(manager, reviewer)
    small = _batch_queries(campaign.pk, 3)
    large = _batch_queries(campaign.pk, 30)
    assert large == small
    assert large <= 20


def test_signals_named_by_the_segment_are_linked_as_evidence(manager, reviewer, system_user):
    account = _account()
    signal = risk_signal_raise(
        actor=system_user, reason="t", account_id=account.pk, kind=RiskSignalKind.POLICY,
        severity=Severity.HIGH,
    )  # fmt: skip
    campaign = _create(manager, {"risk_signal_kind": "policy"}, closure_reason="policy_high_risk")
    services.campaign_submit(actor=manager, campaign_id=campaign.pk, reason="ready")
    services.campaign_approve(actor=reviewer, campaign_id=campaign.pk, reason="ok")
    campaigns.campaign_run(campaign_id=campaign.pk)
    closure = ClosureRequest.objects.get(campaign=campaign)
    assert list(closure.risk_signals.all()) == [signal]
    assert closure.reason == "policy_high_risk"


# --- Monitoring and stopping ----------------------------------------------------------------------


def test_monitoring_sends_one_summary_and_no_per_account_alert(manager, reviewer, settings):
    settings.CLOSURE_ALERT_DAILY_MIN = 2
    _cash_accounts(4)
    campaign = campaigns.campaign_run(campaign_id=_approved(manager, reviewer).pk, batch_size=2)
    alerts = list(ClosureAlert.objects.all())
    assert [a.rule for a in alerts] == [AlertRule.CAMPAIGN_SUMMARY]
    assert alerts[0].details["campaign"] == campaign.pk and alerts[0].details["proposed"] == 4
    assert Notice.objects.filter(event="staff.closure_alert").exists()
    from closures.anomaly import alerts_daily_check

    assert alerts_daily_check(actor=reviewer) is None  # campaign closures are not a spike


def test_stop_writes_no_new_closure_and_leaves_the_written_ones(manager, reviewer):
    _cash_accounts(4)
    campaign = _approved(manager, reviewer)
    campaigns.campaign_run_batch(campaign_id=campaign.pk, batch_size=2)
    stopped = services.campaign_stop(actor=manager, campaign_id=campaign.pk, reason="policy paused")
    assert stopped.status == CampaignStatus.STOPPED and stopped.decided_by == manager
    assert campaigns.campaign_run_batch(campaign_id=campaign.pk, batch_size=2).proposed == 0
    written = ClosureRequest.objects.filter(campaign=campaign)
    assert written.count() == 2
    assert set(written.values_list("status", flat=True)) == {ClosureStatus.APPROVED}
    assert ClosureAlert.objects.get(rule=AlertRule.CAMPAIGN_SUMMARY).details["status"] == "stopped"
    with pytest.raises(ApplicationError):
        services.campaign_stop(actor=manager, campaign_id=campaign.pk, reason="again")
    with pytest.raises(ApplicationError) as exc:
        services.campaign_stop(actor=staff("agent"), campaign_id=campaign.pk, reason="x")
    assert exc.value.code == "permission_denied"


def test_events_and_history_are_the_services_shape(manager, reviewer):
    _cash_accounts(1)
    campaign = campaigns.campaign_run(campaign_id=_approved(manager, reviewer).pk)
    closure = ClosureRequest.objects.get(campaign=campaign)
    for event in ClosureEvent.objects.filter(closure=closure):
        assert event.history.count() == 1
    assert closure.internal_note == "" and closure.froze_account is False


# --- The admin pages ------------------------------------------------------------------------------


def _step_up(client, device, location):
    from tests.admin.conftest import totp_now

    assert location.startswith("/admin/stepup/")
    r = client.post(location, {"otp_token": totp_now(device)})
    assert r.status_code == 302
    return r["Location"]


def test_the_admin_walk_create_submit_approve_and_the_page(
    signed_in, django_assert_max_num_queries
):
    _cash_accounts(3)
    mclient, muser, _ = signed_in("manager")
    r = mclient.get("/admin/closures/closurecampaign/create/")
    assert r.status_code == 200
    form = {
        "title": "现金产品下线",
        "closure_reason": "product_change",
        "loan_kind": "cash",
        "partner_interface": "",
        "risk_signal_kind": "",
        "overdue_min_days": "",
        "overdue_min_amount": "",
        "account_age_min_days": "",
        "explanation_zh": ZH,
        "explanation_en": EN,
        "reason": "产品下线",
    }
    r = mclient.post(
        "/admin/closures/closurecampaign/create/", {**form, "partner_interface": "A\x00"}
    )
    assert r.status_code == 200  # a field error, not a 500
    assert not ClosureCampaign.objects.exists()
    r = mclient.post("/admin/closures/closurecampaign/create/", form)
    assert r.status_code == 302, r.content[:2000]
    campaign = ClosureCampaign.objects.get()
    page = f"/admin/closures/closurecampaign/{campaign.pk}/change/"
    body = mclient.get(page).content.decode()
    assert 'data-testid="campaign-matched">3<' in body and ZH in body and EN in body
    assert "campaign-submit" in body and "campaign-approve" not in body
    r = mclient.post(f"/admin/closures/closurecampaign/{campaign.pk}/submit/", {"reason": "ready"})
    assert r.status_code == 302
    # The creator cannot approve: the service says so on the form.
    from tests.admin.conftest import stepup_now

    stepup_now(mclient, muser)
    r = mclient.post(f"/admin/closures/closurecampaign/{campaign.pk}/approve/", {"reason": "me"})
    assert r.status_code == 200 and b"errorlist" in r.content  # not for their own
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PENDING_APPROVAL

    rclient, ruser, device = signed_in("reviewer")
    approve = f"/admin/closures/closurecampaign/{campaign.pk}/approve/"
    r = rclient.get(approve)
    assert r.status_code == 302  # the code first
    assert _step_up(rclient, device, r["Location"]) == approve
    r = rclient.get(approve)
    assert r.status_code == 200 and EN in r.content.decode()  # what they approve, shown
    r = rclient.post(approve, {"reason": "segment checked"})
    assert r.status_code == 302, r.content[:2000]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.APPROVED and campaign.approved_by == ruser
    campaigns.campaign_run(campaign_id=campaign.pk)
    with django_assert_max_num_queries(25):
        body = rclient.get(page).content.decode()
    assert 'data-testid="campaign-proposed">3 / 3<' in body
    assert rclient.get("/admin/closures/closurecampaign/").status_code == 200
    agent, _u, _d = signed_in("agent")
    assert agent.get("/admin/closures/closurecampaign/create/").status_code == 403
    assert (
        agent.post(
            f"/admin/closures/closurecampaign/{campaign.pk}/stop/", {"reason": "x"}
        ).status_code
        == 403
    )


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_campaign_never_write_an_account_twice():
    import threading

    manager, reviewer = staff("manager"), staff("reviewer")
    _cash_accounts(6)
    campaign = _approved(manager, reviewer)
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def worker():
        try:
            barrier.wait()
            campaigns.campaign_run(campaign_id=campaign.pk, batch_size=2)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    campaign.refresh_from_db()
    written = ClosureRequest.objects.filter(campaign=campaign)
    assert written.count() == 6 == campaign.proposed_count
    assert written.values("account_id").distinct().count() == 6
    assert campaign.status == CampaignStatus.DONE
    assert ClosureAlert.objects.filter(rule=AlertRule.CAMPAIGN_SUMMARY).count() == 1


def test_recount_before_approval_and_auditors_only_read(manager, signed_in):
    _cash_accounts(1)
    campaign = _create(manager)
    _cash_accounts(2)
    campaign = services.campaign_preview_refresh(actor=manager, campaign_id=campaign.pk)
    assert campaign.matched_count == 3 and len(campaign.sample) == 3
    auditor, _user, _device = signed_in("auditor")
    page = f"/admin/closures/closurecampaign/{campaign.pk}/change/"
    assert auditor.get(page).status_code == 200
    assert (
        auditor.post(f"/admin/closures/closurecampaign/{campaign.pk}/recount/").status_code == 403
    )
    with pytest.raises(ApplicationError):
        services.campaign_preview_refresh(actor=_user, campaign_id=campaign.pk)
