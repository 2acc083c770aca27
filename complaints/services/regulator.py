"""Complaints referred by the regulator (the 12378 hotline, NFRA referrals): the channel
`regulator`, entered by staff with the referral (intake.py, `Referral`), and our reply to the
regulator recorded with its delivery (`regulator_reply_record`)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.audit import save_with_history
from core.errors import ApplicationError

from .. import events
from ..enums import Channel, RegulatorReplyChannel, Status
from ..locks import complaint_for_update
from ..models import Complaint
from .common import require_perm, require_reason, stake_refuse

# The regulator is answered once the case has its answer (decided, under review or closed).
REPLYABLE_STATUSES = (Status.DECIDED, Status.UNDER_REVIEW, Status.CLOSED)


def _reply_check(
    *, text: str, channel: str, delivered_at: datetime | None, proof: str, complaint: Complaint
) -> None:
    errors: dict[str, list[str]] = {}
    if not (text or "").strip():
        errors["text"] = [_("Give the reply sent to the regulator.")]
    if channel not in RegulatorReplyChannel.values:
        errors["channel"] = [_("Choose how the reply was delivered.")]
    if delivered_at is None:
        errors["delivered_at"] = [_("Give the time the reply was delivered.")]
    elif delivered_at > timezone.now() or delivered_at < complaint.received_at.replace(
        second=0, microsecond=0
    ):  # (entered to the minute)
        errors["delivered_at"] = [_("The delivery time must lie between receipt and now.")]
    if len((proof or "").strip()) > 120:
        errors["proof"] = [_("At most 120 characters.")]
    if errors:
        raise ApplicationError(
            _("The reply to the regulator is not complete."),
            code="invalid",
            status=400,
            fields=errors,
        )


@transaction.atomic
def regulator_reply_record(
    *,
    complaint_id: int,
    actor: User,
    reason: str,
    text: str,
    channel: str,
    delivered_at: datetime | None,
    proof: str = "",
) -> Complaint:
    """Record our reply to the referring regulator and its delivery (how, when, the receipt),
    once per referral, after the case has its answer."""
    require_perm(actor, "complaints.work_complaint")
    require_reason(reason)
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    if complaint.channel != Channel.REGULATOR:
        raise ApplicationError(
            _("This complaint was not referred by the regulator."), code="not_a_referral"
        )
    if complaint.regulator_reply_delivered_at is not None:
        raise ApplicationError(
            _("The reply to the regulator is already recorded."), code="already_replied"
        )
    if complaint.status not in REPLYABLE_STATUSES:
        raise ApplicationError(
            _("Decide the complaint before replying to the regulator."), code="not_decided"
        )
    _reply_check(
        text=text, channel=channel, delivered_at=delivered_at, proof=proof, complaint=complaint
    )
    complaint.regulator_reply = text.strip()
    complaint.regulator_reply_channel = channel
    complaint.regulator_reply_delivered_at = delivered_at
    complaint.regulator_reply_proof = (proof or "").strip()
    complaint.regulator_replied_by = actor
    save_with_history(
        complaint,
        actor=actor,
        reason=reason,
        update_fields=[
            "regulator_reply",
            "regulator_reply_channel",
            "regulator_reply_delivered_at",
            "regulator_reply_proof",
            "regulator_replied_by",
        ],
    )
    events.regulator_replied_event(complaint=complaint, actor=actor, reason=reason)
    return complaint
