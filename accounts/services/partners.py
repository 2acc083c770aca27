"""The partner-interface register (seed 001: 数据接口管理不善, 定期审计伙伴, 应急响应机制).

- `partner_interface_register` / `partner_interface_update` / `partner_interface_retire`:
  managers keep the register (code, partner, permitted loan kinds and channels, maximum amount,
  owner, contract reference).
- `partner_interface_audit_record`: a manager or risk officer records an audit (date, result,
  note) on the interface.
- `partner_interface_change_propose`: a risk officer or manager proposes suspending (an active
  interface) or resuming (a suspended one), with the reason; at most one pending per interface.
- `partner_interface_change_approve` / `_reject`: another person (four eyes), approving with a
  fresh one-time code (core/stepup.py). An approved suspension takes effect at once - the
  pre-check and the ledger feed refuse or flag loans through it (accounts/partners.py) - and the
  managers are alerted (`staff.partner_interface_suspended`).

Each write keeps the row's history and lands in the activity trail (core.audit.save_with_history)
in one transaction; the interface row is locked first, then the proposal.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.activity import activity_record
from core.audit import REASON_MAX_LENGTH, save_with_history
from core.clock import local_date
from core.errors import ApplicationError, Forbidden, NotFound
from core.roles import MANAGER
from core.stepup import stepup_require
from notices.services import notice_enqueue_staff

from ..enums import (
    LoanChannel,
    LoanKind,
    PartnerAuditResult,
    PartnerChangeAction,
    PartnerChangeStatus,
    PartnerInterfaceStatus,
)
from ..models import PartnerInterface, PartnerInterfaceChange, User
from ..partners import register_snapshot

PERM_MANAGE = "accounts.manage_partner_interface"
PERM_AUDIT = "accounts.audit_partner_interface"
PERM_PROPOSE = "accounts.propose_partner_interface_change"
PERM_APPROVE = "accounts.approve_partner_interface_change"
SUSPENDED_EVENT = "staff.partner_interface_suspended"

# What each action needs the interface to be, and what it makes it.
_ACTION_FROM_TO = {
    PartnerChangeAction.SUSPEND: (PartnerInterfaceStatus.ACTIVE, PartnerInterfaceStatus.SUSPENDED),
    PartnerChangeAction.RESUME: (PartnerInterfaceStatus.SUSPENDED, PartnerInterfaceStatus.ACTIVE),
}
_EDITABLE = ("partner", "permitted_kinds", "permitted_channels", "max_amount", "owner",
             "contract_reference")  # fmt: skip


# --- Checks ----------------------------------------------------------------------------------------


def _permission_require(actor: User, perm: str) -> None:
    """Staff need `perm`; a system actor (a command, the demo) acts for the platform."""
    if getattr(actor, "is_system", False):
        return
    if not (actor.is_active and actor.is_staff and actor.has_perm(perm)):
        raise Forbidden(_("You are not allowed to do this."), code="permission_denied")


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", status=400, fields={field: [message]})


def _text(value: Any, field: str, *, max_length: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if "\x00" in text:
        raise _invalid(field, _("Null characters are not allowed."))
    if len(text) > max_length:
        raise _invalid(
            field, _("At most %(max)d characters.") % {"max": max_length}
        )  # fmt: skip
    if required and not text:
        raise _invalid(field, _("Required."))
    return text


def _reason(reason: str) -> str:
    return _text(reason, "reason", max_length=REASON_MAX_LENGTH, required=True)


def _choices(values: Iterable[str] | None, field: str, allowed: list[str]) -> list[str]:
    values = list(values or [])
    bad = [v for v in values if v not in allowed]
    if bad:
        raise _invalid(
            field, _("Unknown values: %(values)s.") % {"values": ", ".join(map(str, bad))}
        )
    if not values:
        raise _invalid(field, _("Choose at least one."))
    return [v for v in allowed if v in values]  # the enum's order, no duplicates


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise _invalid("max_amount", _("Enter a number.")) from None
    if not amount.is_finite() or amount <= 0:
        raise _invalid("max_amount", _("Must be more than zero."))
    if amount >= Decimal("1e12"):
        raise _invalid("max_amount", _("Too large."))
    return amount


def _interface_for_update(interface_id: int) -> PartnerInterface:
    try:
        return PartnerInterface.objects.select_for_update(no_key=True).get(pk=interface_id)
    except (PartnerInterface.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("No such partner interface.")) from None


def _change_for_update(change_id: int) -> tuple[PartnerInterface, PartnerInterfaceChange]:
    """The proposal's interface, then the proposal, locked (the register's lock order)."""
    interface_id = (
        PartnerInterfaceChange.objects.filter(pk=change_id).values_list("interface_id", flat=True)
    ).first()
    if interface_id is None:
        raise NotFound(_("No such proposal."))
    interface = _interface_for_update(interface_id)
    change = PartnerInterfaceChange.objects.select_for_update(no_key=True).get(pk=change_id)
    return interface, change


# --- The register ------------------------------------------------------------------------------------


@transaction.atomic
def partner_interface_register(
    *,
    actor: User,
    reason: str,
    code: str,
    partner: str,
    permitted_kinds: Iterable[str],
    permitted_channels: Iterable[str],
    max_amount: Decimal | str,
    owner: User | None = None,
    contract_reference: str = "",
) -> PartnerInterface:
    _permission_require(actor, PERM_MANAGE)
    reason = _reason(reason)
    code = _text(code, "code", max_length=64, required=True)
    if PartnerInterface.objects.filter(code=code).exists():
        raise _invalid("code", _("An interface with this code is already registered."))
    interface = PartnerInterface(
        code=code,
        partner=_text(partner, "partner", max_length=120, required=True),
        permitted_kinds=_choices(permitted_kinds, "permitted_kinds", LoanKind.values),
        permitted_channels=_choices(permitted_channels, "permitted_channels", LoanChannel.values),
        max_amount=_amount(max_amount),
        owner=owner,
        contract_reference=_text(contract_reference, "contract_reference", max_length=64),
    )
    save_with_history(interface, actor=actor, reason=reason)
    return interface


@transaction.atomic
def partner_interface_update(
    *, actor: User, reason: str, interface_id: int, **changes: Any
) -> PartnerInterface:
    """Change the interface's terms (any of partner, permitted_kinds, permitted_channels,
    max_amount, owner, contract_reference). Its status changes only through a proposal."""
    _permission_require(actor, PERM_MANAGE)
    reason = _reason(reason)
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise ApplicationError(
            _("These fields cannot be changed here: %(fields)s.")
            % {"fields": ", ".join(sorted(unknown))},
            code="invalid",
            status=400,
        )
    interface = _interface_for_update(interface_id)
    clean = {
        "partner": lambda v: _text(v, "partner", max_length=120, required=True),
        "permitted_kinds": lambda v: _choices(v, "permitted_kinds", LoanKind.values),
        "permitted_channels": lambda v: _choices(v, "permitted_channels", LoanChannel.values),
        "max_amount": _amount,
        "owner": lambda v: v,
        "contract_reference": lambda v: _text(v, "contract_reference", max_length=64),
    }
    fields = []
    for name, value in changes.items():
        value = clean[name](value)
        current = interface.owner if name == "owner" else getattr(interface, name)
        if current != value:
            setattr(interface, name, value)
            fields.append(name)
    if not fields:
        return interface
    interface.updated_at = timezone.now()
    save_with_history(interface, actor=actor, reason=reason, update_fields=[*fields, "updated_at"])
    return interface


@transaction.atomic
def partner_interface_retire(*, actor: User, reason: str, interface_id: int) -> PartnerInterface:
    """The interface is no longer used: every loan through it is refused from now on. For good
    (a new contract gets a new code)."""
    _permission_require(actor, PERM_MANAGE)
    reason = _reason(reason)
    interface = _interface_for_update(interface_id)
    if interface.status == PartnerInterfaceStatus.RETIRED:
        raise ApplicationError(_("The interface is already retired."), code="invalid_transition")
    interface.status = PartnerInterfaceStatus.RETIRED
    interface.updated_at = timezone.now()
    save_with_history(interface, actor=actor, reason=reason, update_fields=["status", "updated_at"])
    _pending_end(interface, actor=actor, reason=reason)
    return interface


def _pending_end(interface: PartnerInterface, *, actor: User, reason: str) -> None:
    """A retired interface's pending proposal is rejected with it."""
    for change in PartnerInterfaceChange.objects.select_for_update(no_key=True).filter(
        interface=interface, status=PartnerChangeStatus.PENDING
    ):
        change.status = PartnerChangeStatus.REJECTED
        change.decided_at = timezone.now()
        change.decision_reason = reason
        if change.proposed_by_id != actor.pk:
            change.decided_by = actor
        save_with_history(
            change,
            actor=actor,
            reason=reason,
            update_fields=["status", "decided_at", "decision_reason", "decided_by"],
        )


@transaction.atomic
def partner_interface_audit_record(
    *,
    actor: User,
    reason: str,
    interface_id: int,
    audited_on: date,
    result: str,
) -> PartnerInterface:
    """Record an audit of the partner (`reason` is the audit's note: what was checked and found)."""
    _permission_require(actor, PERM_AUDIT)
    reason = _reason(reason)
    if result not in PartnerAuditResult.values:
        raise _invalid("result", _("Choose a result."))
    if not isinstance(audited_on, date):
        raise _invalid("audited_on", _("Enter a date."))
    if audited_on > local_date(timezone.now()):
        raise _invalid("audited_on", _("The audit date cannot be in the future."))
    interface = _interface_for_update(interface_id)
    if interface.last_audit_on and audited_on < interface.last_audit_on:
        raise _invalid(
            "audited_on", _("A later audit is already recorded (%(date)s).")
            % {"date": interface.last_audit_on.isoformat()},
        )  # fmt: skip
    interface.last_audit_on = audited_on
    interface.last_audit_result = result
    interface.last_audit_note = reason
    interface.updated_at = timezone.now()
    save_with_history(
        interface,
        actor=actor,
        reason=reason,
        update_fields=["last_audit_on", "last_audit_result", "last_audit_note", "updated_at"],
    )
    return interface


# --- Suspension and resumption: four eyes -------------------------------------------------------------


@transaction.atomic
def partner_interface_change_propose(
    *, actor: User, reason: str, interface_id: int, action: str
) -> PartnerInterfaceChange:
    _permission_require(actor, PERM_PROPOSE)
    reason = _reason(reason)
    if action not in _ACTION_FROM_TO:
        raise _invalid("action", _("Choose suspend or resume."))
    interface = _interface_for_update(interface_id)
    needed, _target = _ACTION_FROM_TO[action]
    if interface.status != needed:
        raise ApplicationError(
            _("%(action)s is not possible: the interface is %(status)s.")
            % {
                "status": interface.get_status_display(),
                "action": PartnerChangeAction(action).label,
            },
            code="invalid_transition",
        )
    if PartnerInterfaceChange.objects.filter(
        interface=interface, status=PartnerChangeStatus.PENDING
    ).exists():
        raise ApplicationError(
            _("A proposal about this interface is already waiting for approval."),
            code="proposal_pending",
        )
    change = PartnerInterfaceChange(
        interface=interface, action=action, reason=reason, proposed_by=actor
    )
    save_with_history(change, actor=actor, reason=reason)
    return change


@transaction.atomic
def partner_interface_change_approve(
    *, actor: User, reason: str, change_id: int
) -> PartnerInterfaceChange:
    """Four eyes: someone other than the proposer, with a fresh one-time code. The interface's
    status changes now; a suspension is alerted to the managers."""
    _permission_require(actor, PERM_APPROVE)
    reason = _reason(reason)
    stepup_require(actor=actor)
    interface, change = _change_for_update(change_id)
    _decide_check(change, actor=actor)
    needed, target = _ACTION_FROM_TO[change.action]
    if interface.status != needed:
        raise ApplicationError(
            _("The interface is %(status)s now: this proposal no longer applies.")
            % {"status": interface.get_status_display()},
            code="invalid_transition",
        )
    now = timezone.now()
    change.status = PartnerChangeStatus.APPROVED
    change.decided_by = actor
    change.decided_at = now
    change.decision_reason = reason
    save_with_history(
        change,
        actor=actor,
        reason=reason,
        update_fields=["status", "decided_by", "decided_at", "decision_reason"],
    )
    interface.status = target
    interface.updated_at = now
    save_with_history(
        interface,
        actor=actor,
        reason=_("%(action)s (proposal #%(id)s by %(proposer)s): %(reason)s")
        % {
            "action": change.get_action_display(),
            "id": change.pk,
            "proposer": change.proposed_by.get_username(),
            "reason": change.reason,
        },
        update_fields=["status", "updated_at"],
    )
    if change.action == PartnerChangeAction.SUSPEND:
        notice_enqueue_staff(
            event=SUSPENDED_EVENT,
            context={
                "code": interface.code,
                "partner": interface.partner,
                "proposed_by": change.proposed_by.get_username(),
                "approved_by": actor.get_username(),
                "reason": change.reason,
            },
            actor=actor,
            role=MANAGER,
            obj=interface,
            key=f"change:{change.pk}",
        )
    return change


@transaction.atomic
def partner_interface_change_reject(
    *, actor: User, reason: str, change_id: int
) -> PartnerInterfaceChange:
    _permission_require(actor, PERM_APPROVE)
    reason = _reason(reason)
    _interface, change = _change_for_update(change_id)
    _decide_check(change, actor=actor)
    change.status = PartnerChangeStatus.REJECTED
    change.decided_by = actor
    change.decided_at = timezone.now()
    change.decision_reason = reason
    save_with_history(
        change,
        actor=actor,
        reason=reason,
        update_fields=["status", "decided_by", "decided_at", "decision_reason"],
    )
    return change


def _decide_check(change: PartnerInterfaceChange, *, actor: User) -> None:
    if change.status != PartnerChangeStatus.PENDING:
        raise ApplicationError(
            _("This proposal is already %(status)s.") % {"status": change.get_status_display()},
            code="invalid_transition",
        )
    if change.proposed_by_id == actor.pk:
        raise Forbidden(
            _("You proposed this change: another person must decide it (four eyes)."),
            code="maker_checker",
        )


PRECHECK_REFUSED = "accounts.partnerinterface.precheck_refused"


def partner_interface_precheck(
    *,
    actor: User,
    account: Any,
    interface_code: str,
    kind: str,
    channel: str,
    amount: Decimal,
    note: str = "",
) -> str | None:
    """The lending core's question before it grants a loan (POST
    /api/v1/core/authorizations/check/): None when the register allows it, else the refusal's
    code. A refusal is kept in the activity trail on the interface (who asked, for which
    account, kind, channel and amount), so an incident review sees what the register stopped."""
    code = register_snapshot().refusal(interface_code, kind, channel, amount)
    if code is None:
        return None
    interface = PartnerInterface.objects.filter(code=interface_code).first()
    activity_record(
        actor=actor,
        action=PRECHECK_REFUSED,
        obj=interface,
        object_type="" if interface is not None else "accounts.partnerinterface",
        object_id="" if interface is not None else interface_code[:64],
        label=interface_code[:200],
        reason=(
            f"{note}pre-check refused a {kind} loan of ¥{amount:,.2f} through {interface_code} "
            f"({channel}) on account {account.number_masked}: {code}"
        )[:REASON_MAX_LENGTH],
    )
    return code
