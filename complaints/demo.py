"""Demo data of the complaints app (played by `manage.py seed_demo` through accounts.hooks'
demo stories, so accounts/demo.py never imports this app).

`demo_loan_complaint`: the account's customer reports a loan record they never made, through
the real intake service (the loan is disputed, the objection mark opened, the acknowledgement
sent, the incident check run), dated as in the story: the services write "now", so the
complaint's acknowledgement, any incident alert this intake raised and the notices it wrote are
dated back to the story's time afterwards, each change with its reason (demo data only, like
closures/demo.py does for bob's closure notice)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from accounts.models import CreditAccount, LoanRecord, User
from core.audit import save_with_history
from notices.models import Notice

from .enums import Category, Channel
from .models import Complaint, IncidentAlert
from .services import complaint_assign, complaint_submit

DEMO_DATES = "demo: dated as in the story (seed_demo)"


@transaction.atomic
def demo_loan_complaint(
    *,
    account: CreditAccount,
    actor: User,
    loan_reference: str,
    received_at: datetime,
    description: str,
    assignee: User | None = None,
) -> Complaint:
    """The customer's unauthorized-loan complaint about `loan_reference`, received at
    `received_at` through the portal (`actor` is the seeding actor, who dates it back);
    `assignee` (an agent) takes the case an hour later. Idempotent: the loan's existing
    complaint is returned."""
    loan = LoanRecord.objects.get(account=account, reference=loan_reference)
    existing = Complaint.objects.filter(items__loan=loan).first()
    if existing is not None:
        return existing
    customer = account.customer
    started = timezone.now()
    complaint = complaint_submit(
        actor=customer.user,
        reason="Filed in the portal",  # what the portal records (complaints/views.py)
        customer=customer,
        category=Category.UNAUTHORIZED_LOAN,
        description=description,
        channel=Channel.PORTAL,
        account_id=account.pk,
        loan_record_ids=[loan.pk],
        received_at=received_at,
    )
    complaint.acknowledged_at = received_at + timedelta(minutes=1)
    save_with_history(complaint, actor=actor, reason=DEMO_DATES, update_fields=["acknowledged_at"])
    for alert in IncidentAlert.objects.filter(raised_at__gte=started):
        alert.raised_at = received_at
        save_with_history(alert, actor=actor, reason=DEMO_DATES, update_fields=["raised_at"])
        _notices_backdate(alert, at=received_at, actor=actor)
    _notices_backdate(complaint, at=complaint.acknowledged_at, actor=actor)
    if assignee is not None:
        complaint = complaint_assign(
            complaint_id=complaint.pk,
            assignee=assignee,
            actor=assignee,
            reason="taken from the unassigned queue",
        )
    return complaint


def _notices_backdate(obj, *, at: datetime, actor: User) -> None:
    """The notices the services wrote now about `obj`, dated as if written at `at`."""
    ct = ContentType.objects.get_for_model(obj)
    for notice in Notice.objects.filter(content_type=ct, object_id=str(obj.pk)):
        notice.created_at = at
        fields = ["created_at"]
        if notice.sent_at is not None:
            notice.sent_at = at
            fields.append("sent_at")
        save_with_history(notice, actor=actor, reason=DEMO_DATES, update_fields=fields)
