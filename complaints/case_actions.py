"""The case actions of the complaints admin (`/admin/complaints/complaint/<id>/act/<name>/`):
a table of small action objects, each with its title, the permission it needs, when the case
page offers it, its form, and the one service it calls (STYLE.md "Admin pages").

`offered` only decides which buttons the case page shows, from the same statuses, clock
lengths (complaints.clock) and rules the services use; the service still checks everything
under its lock, so a stale page cannot do what the case no longer allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import User
from core import roles
from core.errors import ApplicationError

from . import clock, services
from . import forms as staff_forms
from .enums import DECIDABLE_STATUSES, TRANSITIONS, Channel, ReviewStatus, Status
from .forms_conversation import StaffMessageForm
from .models import Complaint
from .services import conversation

Data = dict[str, Any]


@dataclass(frozen=True)
class CaseAction:
    name: str
    title: Promise
    permission: str
    # (complaint, acting user, the form's cleaned data, the history reason) -> the service call
    run: Callable[[Complaint, User, Data, str], Any]
    offered: Callable[[Complaint], bool]
    form_class: type[forms.Form] | None = None
    form_kwargs: Callable[[Complaint], dict[str, Any]] = field(default=lambda c: {})
    # The history reason of an action whose form asks for none (or leaves it optional).
    default_reason: str = ""
    # Done from the case page itself (its form, or its button, is on the case page and posts
    # to the action's URL, which redirects back to the case page).
    inline: bool = False
    # Needs a one-time code entered in the last 15 minutes (core.stepup): asked before the
    # form is shown, never after the person typed.
    stepup: bool = False
    # The page shows the drafted decision in full (what is approved or returned).
    shows_decision: bool = False

    def form(
        self, complaint: Complaint, data: Any = None, files: Any = None, **overrides: Any
    ) -> forms.Form | None:
        """The action's form; `overrides` replace form_kwargs (the case page passes the
        disputed items it has already read)."""
        if self.form_class is None:
            return None
        kwargs = {**self.form_kwargs(complaint), **overrides}
        if files is not None:
            kwargs["files"] = files
        return self.form_class(data, **kwargs)

    def perform(self, complaint: Complaint, user: User, data: Data) -> Any:
        return self.run(complaint, user, data, data.get("reason") or self.default_reason)


def _open(c: Complaint) -> bool:
    return c.is_open


def _always(c: Complaint) -> bool:
    return True


def _assignable_staff(c: Complaint) -> dict[str, QuerySet[User]]:
    staff = (
        roles.users_in_role(roles.AGENT)
        | roles.users_in_role(roles.REVIEWER)
        | roles.users_in_role(roles.MANAGER)
    )
    return {"staff_qs": staff.distinct().order_by("username")}


def _disputed_items(c: Complaint) -> dict[str, Any]:
    return {"items": c.items.select_related("loan").order_by("pk")}


def _item_decisions(d: Data) -> list[services.ItemDecision]:
    keys = [k for k in d if k.startswith("item_") and k.endswith("_outcome")]
    return [
        services.ItemDecision(
            item_id=int(k.split("_")[1]),
            outcome=d[k],
            reasons=d[k.replace("_outcome", "_reasons")],
        )
        for k in keys
    ]


def _decide(c: Complaint, user: User, d: Data, reason: str) -> Any:
    amount: Decimal | None = d.get("compensation_amount") or None
    return services.complaint_decide(
        complaint_id=c.pk,
        actor=user,
        reason=reason,
        decision_text=d["decision_text"],
        root_cause=d["root_cause"],
        item_decisions=_item_decisions(d),
        compensation_amount=amount,
        compensation_reason=d.get("compensation_reason", ""),
        outcome=d.get("outcome") or None,
    )


def _review_decide(c: Complaint, user: User, d: Data, reason: str) -> Any:
    review = c.reviews.filter(status=ReviewStatus.SUBMITTED).first()
    if review is None:
        raise ApplicationError(_("No open review."), code="no_review")
    return services.review_decide(
        review_id=review.pk,
        actor=user,
        reason=reason,
        outcome=d["outcome"],
        decision_text=d["decision_text"],
        upheld_item_ids=[int(pk) for pk in d.get("upheld_items") or ()],
        new_outcome=d.get("new_outcome") or None,
    )


WORK = "complaints.work_complaint"

# (Named, because the table below lists them among the others.)
DECIDE = CaseAction(
    name="decide",
    title=gettext_lazy("Decide"),
    permission=WORK,
    form_class=staff_forms.DecisionForm,
    form_kwargs=_disputed_items,
    offered=lambda c: c.status in DECIDABLE_STATUSES,
    run=_decide,
    default_reason=gettext_noop("Decide"),
    inline=True,
)
REVIEW_DECIDE = CaseAction(
    name="review_decide",
    title=gettext_lazy("Decide the review"),
    permission="complaints.decide_review",
    form_class=staff_forms.ReviewDecisionForm,
    form_kwargs=_disputed_items,
    offered=lambda c: c.status == Status.UNDER_REVIEW,
    run=_review_decide,
    default_reason=gettext_noop("Decide the review"),
)

# In the order the case page shows them.
ACTIONS: dict[str, CaseAction] = {
    a.name: a
    for a in (
        CaseAction(
            name="take",
            title=gettext_lazy("Take this case"),
            permission=WORK,
            offered=lambda c: _open(c) and c.assignee_id is None,  # else "Assign" reassigns
            run=lambda c, user, d, reason: services.complaint_assign(
                complaint_id=c.pk, assignee=user, actor=user, reason=reason
            ),
            default_reason=gettext_noop("Take this case"),
            inline=True,
        ),
        CaseAction(
            name="assign",
            title=gettext_lazy("Assign"),
            permission=WORK,
            form_class=staff_forms.AssignForm,
            form_kwargs=_assignable_staff,
            offered=_open,
            run=lambda c, user, d, reason: services.complaint_assign(
                complaint_id=c.pk, assignee=d["assignee"], actor=user, reason=reason
            ),
        ),
        CaseAction(
            name="note",
            title=gettext_lazy("Add internal note"),
            permission=WORK,
            form_class=staff_forms.NoteForm,
            offered=_always,
            run=lambda c, user, d, reason: services.complaint_note_add(
                complaint_id=c.pk, actor=user, text=d["text"]
            ),
            inline=True,
        ),
        CaseAction(
            name="message",
            title=gettext_lazy("Message the customer"),
            permission=WORK,
            # The conversation (complaints/services/conversation.py), with canned replies.
            form_class=StaffMessageForm,
            form_kwargs=lambda c: {"complaint": c},
            offered=_always,
            run=lambda c, user, d, reason: conversation.conversation_staff_reply(
                complaint_id=c.pk,
                actor=user,
                body=d.get("text") or "",
                canned_reply=d.get("canned_reply"),
                reason=reason,
            ),
            inline=True,
        ),
        CaseAction(
            name="extend",
            title=gettext_lazy("Extend to 30 days"),
            permission=WORK,
            form_class=staff_forms.ReasonForm,
            offered=lambda c: c.is_open and c.clock_days < clock.EXTENDED_DAYS,
            run=lambda c, user, d, reason: services.complaint_extend(
                complaint_id=c.pk, actor=user, reason=reason
            ),
        ),
        CaseAction(
            name="request_extension",
            title=gettext_lazy("Ask a manager for 60 days"),
            permission=WORK,
            form_class=staff_forms.ReasonForm,
            offered=lambda c: (
                c.is_open
                and c.clock_days == clock.EXTENDED_DAYS
                and not c.extension_requested_by_id
            ),
            run=lambda c, user, d, reason: services.complaint_extension_request(
                complaint_id=c.pk, actor=user, reason=reason
            ),
        ),
        CaseAction(
            name="decide_extension",
            title=gettext_lazy("Decide the request for 60 days"),
            permission="complaints.approve_extension",
            form_class=staff_forms.ExtensionDecisionForm,
            offered=lambda c: c.is_open and bool(c.extension_requested_by_id),
            run=lambda c, user, d, reason: services.complaint_extension_approve(
                complaint_id=c.pk, actor=user, reason=reason, approve=d["approve"]
            ),
        ),
        CaseAction(
            name="pause",
            title=gettext_lazy("Pause the clock"),
            permission=WORK,
            form_class=staff_forms.PauseForm,
            offered=lambda c: c.is_open and c.paused_at is None,
            run=lambda c, user, d, reason: services.complaint_pause(
                complaint_id=c.pk, actor=user, reason=reason, pause_reason=d["pause_reason"]
            ),
        ),
        CaseAction(
            name="resume",
            title=gettext_lazy("Resume"),
            permission=WORK,
            form_class=staff_forms.ReasonForm,
            offered=lambda c: c.is_open and c.paused_at is not None,
            run=lambda c, user, d, reason: services.complaint_resume(
                complaint_id=c.pk, actor=user, reason=reason
            ),
        ),
        DECIDE,
        CaseAction(
            name="approve",
            title=gettext_lazy("Approve the decision"),
            permission="complaints.approve_decision",
            form_class=staff_forms.ReasonForm,
            offered=lambda c: c.status == Status.PENDING_APPROVAL,
            run=lambda c, user, d, reason: services.complaint_decision_approve(
                complaint_id=c.pk, actor=user, reason=reason
            ),
            stepup=True,
            shows_decision=True,
        ),
        CaseAction(
            name="return",
            title=gettext_lazy("Return the decision"),
            permission="complaints.approve_decision",
            form_class=staff_forms.ReasonForm,
            offered=lambda c: c.status == Status.PENDING_APPROVAL,
            run=lambda c, user, d, reason: services.complaint_decision_return(
                complaint_id=c.pk, actor=user, reason=reason
            ),
            shows_decision=True,
        ),
        CaseAction(
            name="close",
            title=gettext_lazy("Close"),
            permission=WORK,
            form_class=staff_forms.ReasonForm,
            offered=lambda c: Status.CLOSED in TRANSITIONS[c.status],
            run=lambda c, user, d, reason: services.complaint_close(
                complaint_id=c.pk, actor=user, reason=reason
            ),
        ),
        REVIEW_DECIDE,
        CaseAction(
            name="regulator_reply",
            title=gettext_lazy("Record the reply to the regulator"),
            permission=WORK,
            form_class=staff_forms.RegulatorReplyForm,
            offered=lambda c: (
                c.channel == Channel.REGULATOR
                and c.regulator_reply_delivered_at is None
                and c.status in services.REPLYABLE_STATUSES
            ),
            run=lambda c, user, d, reason: services.regulator_reply_record(
                complaint_id=c.pk,
                actor=user,
                reason=reason,
                text=d["text"],
                channel=d["channel"],
                delivered_at=d["delivered_at"],
                proof=d.get("proof", ""),
            ),
        ),
    )
}
