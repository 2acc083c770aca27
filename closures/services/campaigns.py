"""Policy closure campaigns (issue 15 item 3; PRODUCT.md "Closures", platform policy).

A manager defines a segment of accounts (loan kind, partner interface, open risk-signal kind,
overdue figures, account age), the reason (`policy_high_risk` or `product_change`) and the
customer-facing explanation in both languages (`campaign_create`); the count and a sample of the
matching accounts are taken at once and shown on the campaign's page before anything is done.
The manager submits it (`campaign_submit`: a segment matching no account cannot be submitted);
a reviewer who is not its creator approves it with a fresh one-time code (`campaign_approve`,
four eyes, step-up) or rejects it; then a Celery task (`closures.campaign_run`) writes one
closure per account.

The run (`campaign_run_batch`, one transaction per batch of CLOSURE_CAMPAIGN_BATCH accounts):
the campaign row is locked (so two workers never write the same batch and a stop waits for the
batch in flight), then ONE statement picks the next accounts of the segment after the campaign's
cursor (a keyset over the account id; no account or table lock: the partial unique index on open
closures settles a race with any other proposal, `ON CONFLICT DO NOTHING`), inserts their
closures already `approved` - the campaign's approval is the reviewer's approval of each of them
- with their notice period (CLOSURE_NOTICE_DAYS), appeal deadline and evidence (the segment
definition and the account's figures at that moment), their case events (proposed, approved,
notice sent), every history row and the activity trail. Then the closure notices, in each
customer's language with the campaign's explanation in that language, go into the outbox in one
INSERT (`notice_enqueue_many`). The cursor moves on with the batch, so an interrupted run resumes
where it stopped. The queries per batch are a constant; memory is one batch. On other databases
(the SQLite of `make run`, which runs no INSERT inside a WITH) the same rows are written through
the ORM, one account at a time, in the same batches (`method="orm"`; a test holds the two paths
to the same rows).

Monitoring (closures/anomaly.py): campaign closures raise no per-account "no open risk signal"
alert and do not count towards the daily spike; managers get one summary alert per campaign when
its run ends (done or stopped).

Stopping (`campaign_stop`) ends the writing of new closures. The closures already written are
left as they are: each was approved and notified, and PRODUCT.md ends an approved closure only
by its taking effect or by an upheld appeal (a staff member withdraws only a proposal still
pending review); each customer keeps the appeal right their notice states.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.enums import AccountStatus, LoanKind, RiskSignalKind, RiskSignalStatus
from accounts.models import (
    AccountDelinquency,
    CreditAccount,
    Customer,
    LoanRecord,
    RiskSignal,
    User,
)
from core.audit import save_with_history
from core.broker import tasks_publish
from core.clock import window_end_from_delivery
from core.errors import ApplicationError
from core.stepup import stepup_require
from notices.services import notice_enqueue_many

from .. import locks
from ..anomaly import campaign_summary_alert
from ..enums import (
    APPEAL_WINDOW_DAYS,
    CAMPAIGN_TRANSITIONS,
    CAMPAIGN_WRITING_STATUSES,
    OPEN_APPEAL_STATUSES,
    OPEN_CLOSURE_STATUSES,
    AppealStatus,
    CampaignReason,
    CampaignStatus,
    ClosureEventKind,
    ClosureSource,
    ClosureStatus,
)
from ..events import campaign_closure_events
from ..models import Appeal, ClosureCampaign, ClosureEvent, ClosureRequest
from ..risk_scan import _history_insert, _insert, _literal, _trail
from .common import closure_context, permission_require

logger = logging.getLogger(__name__)

CAMPAIGN_RUN_TASK = "closures.campaign_run"
SAMPLE_SIZE = 10
CLOSURE_NOTICE_EVENT = "closure.notice"
# Upper bounds of the figures a segment may name (a bad value is a field error, not a 500).
MAX_DAYS = 36_500
MAX_AMOUNT = Decimal("1000000000")
_CLOSABLE = (AccountStatus.ACTIVE, AccountStatus.FROZEN)
_OPEN = _literal(OPEN_CLOSURE_STATUSES)

SEGMENT_KEYS = (
    "loan_kind",
    "partner_interface",
    "risk_signal_kind",
    "overdue_min_days",
    "overdue_min_amount",
    "account_age_min_days",
)


def batch_size_default() -> int:
    return max(int(getattr(settings, "CLOSURE_CAMPAIGN_BATCH", 5000)), 1)


def large_segment_threshold() -> int:
    return int(getattr(settings, "CLOSURE_CAMPAIGN_LARGE", 10_000))


# --- The segment ---------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(
        _("Check the segment."), code="invalid", status=400, fields={field: [message]}
    )


def _whole_days(raw: Any, field: str, *, minimum: int) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError) as exc:
        raise _invalid(field, _("Enter a whole number of days.")) from exc
    if not minimum <= value <= MAX_DAYS:
        raise _invalid(
            field,
            _("Enter a number of days between %(min)d and %(max)d.")
            % {"min": minimum, "max": MAX_DAYS},
        )
    return value


def segment_clean(raw: dict[str, Any] | None) -> dict[str, Any]:
    """The segment as stored: only the criteria given, each checked (field-level errors). At
    least one criterion: a campaign never targets every account by omission."""
    raw = raw or {}
    segment: dict[str, Any] = {}
    loan_kind = str(raw.get("loan_kind") or "").strip()
    if loan_kind:
        if loan_kind not in LoanKind.values:
            raise _invalid("loan_kind", _("Not a valid choice."))
        segment["loan_kind"] = loan_kind
    interface = str(raw.get("partner_interface") or "").strip()
    if interface:
        if len(interface) > 64 or "\x00" in interface or not interface.isprintable():
            raise _invalid("partner_interface", _("Enter a partner interface code."))
        segment["partner_interface"] = interface
    signal_kind = str(raw.get("risk_signal_kind") or "").strip()
    if signal_kind:
        if signal_kind not in RiskSignalKind.values:
            raise _invalid("risk_signal_kind", _("Not a valid choice."))
        segment["risk_signal_kind"] = signal_kind
    days = _whole_days(raw.get("overdue_min_days"), "overdue_min_days", minimum=1)
    if days is not None:
        segment["overdue_min_days"] = days
    amount_raw = raw.get("overdue_min_amount")
    if amount_raw not in (None, ""):
        try:
            amount = Decimal(str(amount_raw).strip())
        except (InvalidOperation, ValueError) as exc:
            raise _invalid("overdue_min_amount", _("Enter an amount.")) from exc
        if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
            raise _invalid("overdue_min_amount", _("Enter an amount greater than zero."))
        segment["overdue_min_amount"] = f"{amount.quantize(Decimal('0.01'))}"
    age = _whole_days(raw.get("account_age_min_days"), "account_age_min_days", minimum=0)
    if age is not None:
        segment["account_age_min_days"] = age
    if not segment:
        raise ApplicationError(
            _("Name at least one criterion of the segment."),
            code="invalid",
            status=400,
            fields={"__all__": [_("Name at least one criterion of the segment.")]},
        )
    return segment


def _tables() -> dict[str, str]:
    return {
        "account": CreditAccount._meta.db_table,
        "customer": Customer._meta.db_table,
        "delinquency": AccountDelinquency._meta.db_table,
        "loan": LoanRecord._meta.db_table,
        "signal": RiskSignal._meta.db_table,
        "closure": ClosureRequest._meta.db_table,
    }


def segment_where(segment: dict[str, Any], *, now: datetime) -> tuple[str, dict[str, Any]]:
    """The SQL condition (over `a`, the account, and `d`, its overdue figures, left-joined) of the
    accounts a segment matches, with its parameters: open (active or frozen) accounts with no
    closure in progress that meet every criterion. Built from constants and model metadata only;
    every value is a parameter."""
    t = _tables()
    # Every SQL text here is built from model metadata and enum constants, never from input
    # (hence the S608 exemptions); values go in as query parameters.
    parts = [
        f"a.status IN ({_literal(_CLOSABLE)})",
        f"NOT EXISTS (SELECT 1 FROM {t['closure']} c WHERE c.account_id = a.id "  # noqa: S608
        f"AND c.status IN ({_OPEN}))",
    ]
    params: dict[str, Any] = {}
    loan_terms = []
    if "loan_kind" in segment:
        loan_terms.append("l.kind = %(loan_kind)s")
        params["loan_kind"] = segment["loan_kind"]
    if "partner_interface" in segment:
        loan_terms.append("l.partner_interface = %(partner_interface)s")
        params["partner_interface"] = segment["partner_interface"]
    if loan_terms:
        # A loan of that kind, through that interface (both on the same loan when both given).
        loan_sql = f"SELECT 1 FROM {t['loan']} l WHERE l.account_id = a.id AND "  # noqa: S608
        parts.append(f"EXISTS ({loan_sql}{' AND '.join(loan_terms)})")
    if "risk_signal_kind" in segment:
        parts.append(
            f"EXISTS (SELECT 1 FROM {t['signal']} s WHERE s.account_id = a.id "  # noqa: S608
            f"AND s.status = '{RiskSignalStatus.OPEN}' AND s.kind = %(risk_signal_kind)s)"
        )
        params["risk_signal_kind"] = segment["risk_signal_kind"]
    if "overdue_min_days" in segment:
        today = timezone.localdate(now)
        parts.append("d.oldest_past_due_on <= %(overdue_due_before)s")
        params["overdue_due_before"] = today - timedelta(days=segment["overdue_min_days"])
    if "overdue_min_amount" in segment:
        parts.append("d.amount_past_due >= %(overdue_min_amount)s")
        params["overdue_min_amount"] = Decimal(segment["overdue_min_amount"])
    if "account_age_min_days" in segment:
        parts.append("a.opened_at <= %(opened_before)s")
        params["opened_before"] = now - timedelta(days=segment["account_age_min_days"])
    # As the ORM would pass them (SQLite compares its stored text: naive UTC times).
    ops = connection.ops
    for key, value in params.items():
        if isinstance(value, datetime):
            params[key] = ops.adapt_datetimefield_value(value)
        elif isinstance(value, date):
            params[key] = ops.adapt_datefield_value(value)
        elif isinstance(value, Decimal):
            params[key] = ops.adapt_decimalfield_value(value, 14, 2)
    return " AND ".join(parts), params


def _segment_from() -> str:
    t = _tables()
    return (
        f"FROM {t['account']} a JOIN {t['customer']} cu ON cu.id = a.customer_id "
        f"LEFT JOIN {t['delinquency']} d ON d.account_id = a.id"
    )


@dataclass
class SegmentPreview:
    count: int
    sample: list[dict[str, Any]]

    @property
    def is_large(self) -> bool:
        return self.count >= large_segment_threshold()


def segment_preview(*, segment: dict[str, Any], now: datetime | None = None) -> SegmentPreview:
    """How many accounts the segment matches now, and the first SAMPLE_SIZE of them (two
    queries, whatever the size)."""
    now = now or timezone.now()
    where, params = segment_where(segment, now=now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) {_segment_from()} WHERE {where}", params)  # noqa: S608
        count = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT a.id, a.number, cu.name, a.status, a.opened_at, a.outstanding_balance, "  # noqa: S608
            f"d.amount_past_due, d.oldest_past_due_on {_segment_from()} WHERE {where} "
            f"ORDER BY a.id LIMIT {SAMPLE_SIZE}",
            params,
        )
        rows = cursor.fetchall()
    sample = [
        {
            "account": account_id,
            "number_masked": f"**** {number[-4:]}",
            "customer": name,
            "status": status,
            "opened_at": opened_at.isoformat(),
            "outstanding_balance": f"{balance:.2f}",
            "amount_past_due": f"{past_due:.2f}" if past_due is not None else None,
            "oldest_past_due_on": oldest.isoformat() if oldest else None,
        }
        for account_id, number, name, status, opened_at, balance, past_due, oldest in rows
    ]
    return SegmentPreview(count=count, sample=sample)


# --- Creating, submitting, reviewing, stopping ----------------------------------------------------


def _campaign_move(campaign: ClosureCampaign, new_status: str) -> str:
    old = campaign.status
    if new_status not in CAMPAIGN_TRANSITIONS[old]:
        raise ApplicationError(
            _("The campaign cannot go from %(old)s to %(new)s.")
            % {"old": campaign.get_status_display(), "new": CampaignStatus(new_status).label},
            code="invalid_campaign_transition",
        )
    campaign.status = new_status
    return old


def _text_require(value: str, field: str, *, max_length: int | None = None) -> str:
    value = (value or "").strip()
    if not value:
        raise ApplicationError(
            _("This field is required."),
            code="invalid",
            status=400,
            fields={field: [_("This field is required.")]},
        )
    if "\x00" in value:
        raise ApplicationError(
            _("Null characters are not allowed."),
            code="invalid",
            status=400,
            fields={field: [_("Null characters are not allowed.")]},
        )
    if max_length is not None and len(value) > max_length:
        message = _("At most %(max)d characters.") % {"max": max_length}
        raise ApplicationError(message, code="invalid", status=400, fields={field: [message]})
    return value


def _preview_keep(campaign: ClosureCampaign, *, now: datetime) -> SegmentPreview:
    preview = segment_preview(segment=campaign.segment, now=now)
    campaign.matched_count = preview.count
    campaign.sample = preview.sample
    campaign.previewed_at = now
    return preview


def _refuse_if_empty(campaign: ClosureCampaign) -> None:
    if campaign.matched_count == 0:
        raise ApplicationError(
            _("The segment matches no account: change it before submitting the campaign."),
            code="campaign_empty",
        )


@transaction.atomic
def campaign_create(
    *,
    actor: User,
    reason: str,
    title: str,
    closure_reason: str,
    segment: dict[str, Any],
    explanation_zh: str,
    explanation_en: str,
    now: datetime | None = None,
) -> ClosureCampaign:
    """A draft campaign, its segment counted and sampled at once (shown before anything is
    done). Nothing is written to any account."""
    permission_require(actor, "closures.create_campaign")
    now = now or timezone.now()
    if closure_reason not in CampaignReason.values:
        raise ApplicationError(
            _("Choose the reason for the closure."),
            code="invalid",
            status=400,
            fields={"closure_reason": [_("Not a valid choice.")]},
        )
    campaign = ClosureCampaign(
        title=_text_require(title, "title", max_length=200),
        reason=closure_reason,
        segment=segment_clean(segment),
        explanation_zh=_text_require(explanation_zh, "explanation_zh", max_length=2000),
        explanation_en=_text_require(explanation_en, "explanation_en", max_length=2000),
        status=CampaignStatus.DRAFT,
        created_by=actor,
        created_at=now,
    )
    _preview_keep(campaign, now=now)
    save_with_history(campaign, actor=actor, reason=reason)
    return campaign


def _works_on_campaigns(actor: User) -> bool:
    return actor.is_system or (
        actor.is_active
        and actor.is_staff
        and (
            actor.has_perm("closures.create_campaign")
            or actor.has_perm("closures.approve_campaign")
        )
    )


@transaction.atomic
def campaign_preview_refresh(*, actor: User, campaign_id: int, reason: str = "") -> ClosureCampaign:
    """Count and sample the segment again (before approval: the accounts change)."""
    if not _works_on_campaigns(actor):
        raise ApplicationError(
            _("You are not allowed to do this."), code="permission_denied", status=403
        )
    campaign = locks.campaign_for_update(campaign_id=campaign_id)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.PENDING_APPROVAL):
        return campaign
    _preview_keep(campaign, now=timezone.now())
    save_with_history(
        campaign,
        actor=actor,
        reason=reason or "segment counted again",
        update_fields=["matched_count", "sample", "previewed_at"],
    )
    return campaign


@transaction.atomic
def campaign_submit(*, actor: User, campaign_id: int, reason: str) -> ClosureCampaign:
    """The creator sends the draft for approval, counted again; none matched: refused."""
    permission_require(actor, "closures.create_campaign")
    campaign = locks.campaign_for_update(campaign_id=campaign_id)
    now = timezone.now()
    _campaign_move(campaign, CampaignStatus.PENDING_APPROVAL)
    _preview_keep(campaign, now=now)
    _refuse_if_empty(campaign)
    campaign.submitted_at = now
    save_with_history(
        campaign,
        actor=actor,
        reason=reason,
        update_fields=["status", "submitted_at", "matched_count", "sample", "previewed_at"],
    )
    return campaign


def _maker_checker(campaign: ClosureCampaign, actor: User, message: str) -> None:
    if actor.is_system or campaign.created_by_id == actor.pk:
        raise ApplicationError(message, code="maker_checker", status=403)


@transaction.atomic
def campaign_approve(*, actor: User, campaign_id: int, reason: str) -> ClosureCampaign:
    """Four eyes: a reviewer (or manager) who did not create the campaign, with a fresh
    one-time code. Counted again first (a segment that now matches no account is refused);
    the run is published on commit."""
    permission_require(actor, "closures.approve_campaign")
    campaign = locks.campaign_for_update(campaign_id=campaign_id)
    _maker_checker(
        campaign, actor, _("You created this campaign: another reviewer must approve it.")
    )
    stepup_require(actor=actor)
    now = timezone.now()
    _campaign_move(campaign, CampaignStatus.APPROVED)
    _preview_keep(campaign, now=now)
    _refuse_if_empty(campaign)
    campaign.approved_by = actor
    campaign.approved_at = now
    campaign.approval_reason = reason
    save_with_history(
        campaign,
        actor=actor,
        reason=reason,
        update_fields=["status", "approved_by", "approved_at", "approval_reason",
                       "matched_count", "sample", "previewed_at"],
    )  # fmt: skip
    campaign_id = campaign.pk
    transaction.on_commit(lambda: campaign_publish(campaign_id))
    return campaign


@transaction.atomic
def campaign_reject(*, actor: User, campaign_id: int, reason: str) -> ClosureCampaign:
    permission_require(actor, "closures.approve_campaign")
    campaign = locks.campaign_for_update(campaign_id=campaign_id)
    _maker_checker(campaign, actor, _("You created this campaign: stop it instead."))
    _campaign_move(campaign, CampaignStatus.REJECTED)
    campaign.decided_by = actor
    campaign.ended_at = timezone.now()
    save_with_history(
        campaign, actor=actor, reason=reason, update_fields=["status", "decided_by", "ended_at"]
    )
    return campaign


@transaction.atomic
def campaign_stop(*, actor: User, campaign_id: int, reason: str) -> ClosureCampaign:
    """No new closures from now on (a batch in flight finishes first: it holds the campaign's
    lock). The closures already written stand (module docstring); managers get the summary."""
    if not _works_on_campaigns(actor):
        raise ApplicationError(
            _("You are not allowed to do this."), code="permission_denied", status=403
        )
    campaign = locks.campaign_for_update(campaign_id=campaign_id)
    _campaign_move(campaign, CampaignStatus.STOPPED)
    campaign.decided_by = actor
    campaign.ended_at = timezone.now()
    save_with_history(
        campaign, actor=actor, reason=reason, update_fields=["status", "decided_by", "ended_at"]
    )
    if campaign.approved_at is not None:
        campaign_summary_alert(campaign=campaign, actor=actor)
    return campaign


# --- The run ---------------------------------------------------------------------------------------


def campaign_publish(campaign_id: int) -> bool:
    """Hand the run to a worker; never raises (`campaigns_resume`, on the beat, publishes what
    is left)."""
    try:
        tasks_publish(CAMPAIGN_RUN_TASK, [(campaign_id,)])
    except Exception:
        logger.exception("could not publish the run of campaign %s; the resume will", campaign_id)
        return False
    return True


def campaigns_resume(*, now: datetime | None = None, idle: timedelta = timedelta(minutes=5)) -> int:
    """Publish again the runs of approved or running campaigns that wrote nothing for `idle`
    (a broker outage, a worker lost mid-run): the run resumes after the campaign's cursor."""
    now = now or timezone.now()
    recent = ClosureCampaign.history.filter(history_date__gt=now - idle).values("id")
    stale = ClosureCampaign.objects.filter(status__in=CAMPAIGN_WRITING_STATUSES).exclude(
        pk__in=recent
    )
    published = 0
    for campaign_id in stale.values_list("pk", flat=True)[:100]:
        published += campaign_publish(campaign_id)
    return published


# What a campaign's closure row holds in the columns the statement sets (every other column takes
# its field's constant default, as in the risk scan): the values closure_propose and
# closure_approve would write, with the campaign as proposer, approver and evidence.
_CLOSURE_VALUES = {
    "account_id": "p.id",
    "reason": "%(closure_reason)s",
    "status": f"'{ClosureStatus.APPROVED}'",
    "source": f"'{ClosureSource.CAMPAIGN}'",
    "proposed_by_id": "%(proposer)s",
    "approved_by_id": "%(actor)s",
    "explanation": "CASE WHEN left(p.preferred_language, 2) = 'en' "
    "THEN %(explanation_en)s ELSE %(explanation_zh)s END",
    "evidence": "jsonb_build_array(jsonb_build_object("
    "'campaign', %(campaign)s::int, 'title', %(title)s::text, 'segment', %(segment)s::jsonb, "
    "'matched', %(matched)s::int, 'approved_at', %(approved_at)s::timestamptz, "
    "'figures', jsonb_build_object('status', p.status, 'opened_at', p.opened_at, "
    "'outstanding_balance', p.outstanding_balance, "
    "'overdue_count', COALESCE(p.overdue_count, 0), "
    "'amount_past_due', COALESCE(p.amount_past_due, 0), "
    "'oldest_past_due_on', p.oldest_past_due_on, 'as_of', %(now)s::timestamptz)))",
    "notice_days": "%(days)s",
    "created_at": "%(now)s",
    "approved_at": "%(approved_at)s",
    "effective_at": "%(effective_at)s",
    "notice_sent_at": "%(now)s",
    "appeal_deadline": "%(appeal_deadline)s",
    "pre_status": "p.status",
    "campaign_id": "%(campaign)s",
}
# events.closure_proposed_event, closure_approved_event, closure_notice_sent_event
_PROPOSED_EVENT = {
    "closure_id": "cl.id",
    "kind": f"'{ClosureEventKind.PROPOSED}'",
    "actor_id": "%(proposer)s",
    "new_status": f"'{ClosureStatus.PENDING_REVIEW}'",
    "reason": "%(proposal_reason)s",
    "at": "%(created_at)s",
}
_APPROVED_EVENT = {
    "closure_id": "cl.id",
    "kind": f"'{ClosureEventKind.APPROVED}'",
    "actor_id": "%(actor)s",
    "old_status": f"'{ClosureStatus.PENDING_REVIEW}'",
    "new_status": "cl.status",
    "reason": "%(approval_reason)s",
    "at": "%(approved_at)s",
}
_NOTICE_EVENT = {
    "closure_id": "cl.id",
    "kind": f"'{ClosureEventKind.NOTICE_SENT}'",
    "actor_id": "%(actor)s",
    "notice_event": f"'{CLOSURE_NOTICE_EVENT}'",
    "at": "%(now)s",
}
_LINK_VALUES = {"closurerequest_id": "cl.id", "risksignal_id": "s.id"}


@cache
def _batch_sql(with_signals: bool, where: str) -> str:
    """One batch: pick the next accounts of the segment, write their closures, events, links to
    the open risk signals the segment named, every history row and the trail rows."""
    t = _tables()
    closures = _insert(ClosureRequest, _CLOSURE_VALUES, source="picked p")
    events = {
        name: _insert(ClosureEvent, values, source="cl")
        for name, values in (
            ("ev_p", _PROPOSED_EVENT),
            ("ev_a", _APPROVED_EVENT),
            ("ev_n", _NOTICE_EVENT),
        )
    }
    links = ""
    if with_signals:
        link_insert = _insert(
            ClosureRequest.risk_signals.through,
            _LINK_VALUES,
            source=f"cl JOIN {t['signal']} s ON s.account_id = cl.account_id "
            f"AND s.status = '{RiskSignalStatus.OPEN}' AND s.kind = %(risk_signal_kind)s",
        )
        links = f"links AS ({link_insert}),"
    event_ctes = ",\n".join(
        f"{name} AS ({sql} RETURNING *),\n"
        f"{name}_history AS ({_history_insert(ClosureEvent, source=name)}),\n"
        f"{name}_trail AS ({_trail(name, 'closures.closureevent')})"
        for name, sql in events.items()
    )
    return f"""
WITH picked AS (
    SELECT a.id, a.status, a.number, a.opened_at, a.outstanding_balance, cu.user_id,
           cu.preferred_language, d.overdue_count, d.amount_past_due, d.oldest_past_due_on
    {_segment_from()}
    WHERE a.id > %(after)s AND {where}
    ORDER BY a.id LIMIT %(batch)s
),
cl AS (
    {closures}
    ON CONFLICT (account_id) WHERE status IN ({_OPEN}) DO NOTHING
    RETURNING *
),
cl_history AS ({_history_insert(ClosureRequest, source="cl")}),
cl_trail AS ({_trail("cl", "closures.closurerequest")}),
{links}
{event_ctes}
SELECT p.id, p.user_id, p.number, p.outstanding_balance, cl.id, cl.explanation
FROM picked p LEFT JOIN cl ON cl.account_id = p.id
ORDER BY p.id
"""  # noqa: S608 - built from model metadata and constants; values are parameters


def _picked_ids(where: str, params: dict[str, Any]) -> list[int]:
    """The next accounts of the segment after the cursor (the statement's `picked`, alone: a
    plain SELECT, which SQLite runs too)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.id {_segment_from()} WHERE a.id > %(after)s AND {where} "  # noqa: S608
            f"ORDER BY a.id LIMIT %(batch)s",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def _money_json(value: Decimal) -> float:
    # jsonb keeps the numeric; read back it is a JSON number, as this one.
    return float(value)


def _write_batch_orm(
    campaign: ClosureCampaign, params: dict[str, Any], *, where: str, picking: dict[str, Any]
) -> list[tuple]:
    """The batch of `_batch_sql`, through the ORM, one account at a time (SQLite: `make run`,
    demo sizes): the same closures, links, events, history rows and trail rows (these with
    their changes, as every ORM write), in the batch's transaction. An account taken by another
    proposal meanwhile is skipped (its savepoint rolls back), like ON CONFLICT DO NOTHING."""
    ids = _picked_ids(where, picking)
    accounts = CreditAccount.objects.select_related("customer").in_bulk(ids)
    figures = AccountDelinquency.objects.in_bulk(ids, field_name="account_id")
    signals: dict[int, list[int]] = {}
    if "risk_signal_kind" in campaign.segment:
        for signal_id, account_id in RiskSignal.objects.filter(
            account_id__in=ids,
            status=RiskSignalStatus.OPEN,
            kind=campaign.segment["risk_signal_kind"],
        ).values_list("pk", "account_id"):
            signals.setdefault(account_id, []).append(signal_id)
    approver = campaign.approved_by
    now = params["now"]
    rows = []
    for account_id in ids:
        account = accounts[account_id]
        customer = account.customer
        delinquency = figures.get(account_id)
        english = (customer.preferred_language or "")[:2] == "en"
        closure = ClosureRequest(
            account_id=account_id,
            reason=campaign.reason,
            status=ClosureStatus.APPROVED,
            source=ClosureSource.CAMPAIGN,
            proposed_by_id=campaign.created_by_id,
            approved_by=approver,
            explanation=campaign.explanation_en if english else campaign.explanation_zh,
            evidence=[
                {
                    "campaign": campaign.pk,
                    "title": campaign.title,
                    "segment": campaign.segment,
                    "matched": campaign.matched_count,
                    "approved_at": campaign.approved_at.isoformat(),
                    "figures": {
                        "status": account.status,
                        "opened_at": account.opened_at.isoformat(),
                        "outstanding_balance": _money_json(account.outstanding_balance),
                        "overdue_count": delinquency.overdue_count if delinquency else 0,
                        # COALESCE(d.amount_past_due, 0): an integer 0 without figures.
                        "amount_past_due": (
                            _money_json(delinquency.amount_past_due) if delinquency else 0
                        ),
                        "oldest_past_due_on": (
                            delinquency.oldest_past_due_on.isoformat()
                            if delinquency and delinquency.oldest_past_due_on
                            else None
                        ),
                        "as_of": now.isoformat(),
                    },
                }
            ],
            notice_days=params["days"],
            created_at=now,
            approved_at=campaign.approved_at,
            effective_at=params["effective_at"],
            notice_sent_at=now,
            appeal_deadline=params["appeal_deadline"],
            pre_status=account.status,
            campaign=campaign,
        )
        closure._history_date = now  # noqa: SLF001 - simple-history's hook, the statement's time
        try:
            with transaction.atomic():
                save_with_history(closure, actor=approver, reason=params["why"])
                if signals.get(account_id):
                    closure.risk_signals.add(*signals[account_id])
                campaign_closure_events(
                    closure=closure,
                    proposer_id=campaign.created_by_id,
                    approver=approver,
                    proposal_reason=params["proposal_reason"],
                    approval_reason=params["approval_reason"],
                    notice_event=CLOSURE_NOTICE_EVENT,
                    proposed_at=params["created_at"],
                    approved_at=params["approved_at"],
                    noticed_at=now,
                    history_reason=params["why"],
                )
        except IntegrityError:
            rows.append((account_id, customer.user_id, account.number,
                         account.outstanding_balance, None, None))  # fmt: skip
            continue
        rows.append((account_id, customer.user_id, account.number, account.outstanding_balance,
                     closure.pk, closure.explanation))  # fmt: skip
    return rows


@dataclass
class BatchResult:
    picked: int = 0
    proposed: int = 0
    notified: int = 0
    finished: bool = False


def _notify(
    campaign: ClosureCampaign, written: list[tuple], *, now: datetime, deadline: datetime,
    effective_at: datetime,
) -> int:  # fmt: skip
    """The closure notices of a batch, one INSERT into the outbox: each about its own closure,
    in its customer's language (rendered by the outbox), with the explanation written on the
    closure (the campaign's, in that language). Returns how many closures got a notice."""
    users = User.objects.filter(pk__in=[row[1] for row in written]).select_related("customer")
    by_pk = {user.pk: user for user in users}
    recipients = []
    objects = []
    for account_id, user_id, number, balance, closure_id, explanation in written:
        closure = ClosureRequest(
            pk=closure_id,
            reason=campaign.reason,
            explanation=explanation,
            effective_at=effective_at,
            appeal_deadline=deadline,
            notice_sent_at=now,
        )
        account = CreditAccount(pk=account_id, number=number, outstanding_balance=balance)
        recipients.append((by_pk[user_id], closure_context(closure, account)))
        objects.append(closure)
    notices = notice_enqueue_many(
        event=CLOSURE_NOTICE_EVENT,
        recipients=recipients,
        actor=campaign.approved_by,
        objects=objects,
    )
    return len({n.object_id for n in notices})


def campaign_run_batch(
    *,
    campaign_id: int,
    batch_size: int | None = None,
    now: datetime | None = None,
    method: Literal["sql", "orm"] | None = None,
) -> BatchResult:
    """One batch of the run, in one transaction (module docstring). A campaign no longer
    approved or running writes nothing. `method` defaults to the statement on PostgreSQL and
    to the ORM elsewhere (SQLite cannot run an INSERT in a WITH); tests force either."""
    method = method or ("sql" if connection.vendor == "postgresql" else "orm")
    batch_size = batch_size or batch_size_default()
    result = BatchResult()
    with transaction.atomic():
        campaign = locks.campaign_for_update(campaign_id=campaign_id)
        if campaign.status not in CAMPAIGN_WRITING_STATUSES:
            result.finished = True
            return result
        now = now or timezone.now()
        approver = campaign.approved_by
        days = settings.CLOSURE_NOTICE_DAYS.get(campaign.reason, 30)
        effective_at = now + timedelta(days=days)
        # The portal copy of each notice is written (delivered) in this transaction: the appeal
        # window runs from now, as for a closure approved one at a time.
        deadline = window_end_from_delivery(now, APPEAL_WINDOW_DAYS)
        where, params = segment_where(campaign.segment, now=now)
        picking = {**params, "after": campaign.cursor, "batch": batch_size}
        why = f"closure campaign #{campaign.pk} approved: {campaign.approval_reason}"
        params.update(
            after=campaign.cursor,
            batch=batch_size,
            closure_reason=campaign.reason,
            proposer=campaign.created_by_id,
            actor=approver.pk,
            actor_name=approver.username,
            explanation_en=campaign.explanation_en,
            explanation_zh=campaign.explanation_zh,
            campaign=campaign.pk,
            title=campaign.title,
            segment=_json(campaign.segment),
            matched=campaign.matched_count,
            approved_at=campaign.approved_at,
            created_at=campaign.created_at,
            now=now,
            days=days,
            effective_at=effective_at,
            appeal_deadline=deadline,
            why=why[:1000],
            proposal_reason=f"closure campaign #{campaign.pk}: {campaign.title}"[:1000],
            approval_reason=campaign.approval_reason,
        )
        if method == "sql":
            sql = _batch_sql("risk_signal_kind" in campaign.segment, where)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        else:
            rows = _write_batch_orm(campaign, params, where=where, picking=picking)
        written = [row for row in rows if row[4] is not None]
        result.picked = len(rows)
        result.proposed = len(written)
        if written:
            result.notified = _notify(
                campaign, written, now=now, deadline=deadline, effective_at=effective_at
            )
        result.finished = len(rows) < batch_size
        fields = ["cursor", "batches", "proposed_count", "notified_count", "status"]
        if campaign.status == CampaignStatus.APPROVED:
            _campaign_move(campaign, CampaignStatus.RUNNING)
            campaign.started_at = now
            fields.append("started_at")
        if rows:
            campaign.cursor = rows[-1][0]
        campaign.batches += 1
        campaign.proposed_count += result.proposed
        campaign.notified_count += result.notified
        if result.finished:
            _campaign_move(campaign, CampaignStatus.DONE)
            campaign.finished_at = now
            fields.append("finished_at")
        system_why = (
            f"campaign batch {campaign.batches}: {result.proposed} closures"
            if not result.finished
            else f"campaign done: {campaign.proposed_count} closures"
        )
        save_with_history(campaign, actor=approver, reason=system_why, update_fields=fields)
        if result.finished:
            campaign_summary_alert(campaign=campaign, actor=approver)
    return result


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def campaign_run(
    *,
    campaign_id: int,
    batch_size: int | None = None,
    max_batches: int | None = None,
    method: Literal["sql", "orm"] | None = None,
) -> ClosureCampaign:
    """Run the campaign's batches until it is done, stopped or `max_batches` ran (each batch
    commits on its own: a stop, a crash or a new worker takes over after the cursor)."""
    ran = 0
    while max_batches is None or ran < max_batches:
        result = campaign_run_batch(campaign_id=campaign_id, batch_size=batch_size, method=method)
        ran += 1
        if result.finished:
            break
    return ClosureCampaign.objects.get(pk=campaign_id)


# --- Reads for the campaign's page -----------------------------------------------------------------


def campaign_progress(campaign: ClosureCampaign) -> dict[str, int]:
    """Its closures by status and its appeals by status: two aggregate queries over the
    campaign's closures (closure_campaign_idx)."""
    by_status = ClosureRequest.objects.filter(campaign=campaign).aggregate(
        approved=Count("pk", filter=Q(status=ClosureStatus.APPROVED)),
        closing=Count("pk", filter=Q(status=ClosureStatus.CLOSING)),
        closed=Count("pk", filter=Q(status=ClosureStatus.CLOSED)),
        reversed=Count("pk", filter=Q(status=ClosureStatus.REVERSED)),
    )
    appeals = Appeal.objects.filter(closure__campaign=campaign).aggregate(
        appealed=Count("pk"),
        appeals_open=Count("pk", filter=Q(status__in=OPEN_APPEAL_STATUSES)),
        upheld=Count("pk", filter=Q(status=AppealStatus.UPHELD)),
        dismissed=Count("pk", filter=Q(status=AppealStatus.DISMISSED)),
    )
    return {**by_status, **appeals}
