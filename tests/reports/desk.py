"""Building report fixtures through the domain services (complaints, closures, accounts).

The services stamp decisions, payments and reviews with the current time; the reports bucket by
week and month, so a helper may move a stamp into the past afterwards (`_at`, a plain UPDATE on
the row, as other tests do for times). Everything else is what the services wrote."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from backoffice.roles import roles_sync
from closures import services as closure_services
from complaints import services
from complaints.enums import Category, Channel, ItemOutcome, Outcome, RootCause
from complaints.models import Compensation, Complaint, VerificationRequest
from core.clock import SHANGHAI
from tests.factories import CreditAccountFactory, StaffFactory
from tests.factories.complaints import account_with_loans, fresh_stepup


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def today() -> date:
    return timezone.localdate()


class Desk:
    """Staff and helpers for one test's data."""

    def __init__(self, system_user) -> None:
        roles_sync()
        self.system = system_user
        self.agent = StaffFactory(role="agent")
        self.reviewer = StaffFactory(role="reviewer")
        self.manager = StaffFactory(role="manager")
        self.manager2 = StaffFactory(role="manager")
        for user in (self.reviewer, self.manager, self.manager2):
            fresh_stepup(user)

    # --- complaints ---------------------------------------------------------------------------

    def file(
        self,
        *,
        category: str = Category.BILLING,
        channel: str = Channel.PORTAL,
        received: datetime,
        loans: int = 0,
        partner_interface: str = "",
        merchant: str = "某商户",
        amount: str = "199.00",
    ) -> Complaint:
        account, records = account_with_loans(
            actor=self.system,
            amounts=(amount,) * max(loans, 1),
            partner_interface=partner_interface,
            merchant=merchant,
        )
        # Phone calls and letters are typed in by an agent; the portal and API are the customer's.
        by_staff = channel in (Channel.PHONE, Channel.LETTER)
        return services.complaint_submit(
            actor=self.agent if by_staff else account.customer.user,
            reason="test",
            customer=account.customer,
            category=category,
            description="投诉内容",
            channel=channel,
            account_id=account.pk,
            loan_record_ids=[r.pk for r in records] if loans else [],
            received_at=received,
        )

    def decide(
        self,
        complaint: Complaint,
        *,
        at: datetime | None = None,
        root_cause: str = RootCause.OTHER,
        outcome: str = Outcome.REJECTED,
        item_outcomes: list[str] | None = None,
        compensation: Decimal | None = None,
    ) -> Complaint:
        items = list(complaint.items.order_by("pk"))
        outcomes = item_outcomes or [ItemOutcome.UPHELD] * len(items)
        services.complaint_decide(
            complaint_id=complaint.pk,
            actor=self.agent,
            reason="decided",
            decision_text="处理结果",
            root_cause=root_cause,
            item_decisions=[
                services.ItemDecision(item_id=i.pk, outcome=o, reasons="理由")
                for i, o in zip(items, outcomes, strict=True)
            ],
            outcome=None if items else outcome,
            compensation_amount=compensation,
            compensation_reason="补偿" if compensation else "",
        )
        if compensation is not None:
            services.complaint_decision_approve(
                complaint_id=complaint.pk, actor=self.reviewer, reason="approved"
            )
        if at is not None:
            self.move_decision(complaint, at)
        complaint.refresh_from_db()
        return complaint

    def move_decision(self, complaint: Complaint, at: datetime) -> None:
        _at(Complaint, complaint.pk, decided_at=at)
        Compensation.objects.filter(complaint=complaint).update(paid_at=at)

    def extend(self, complaint: Complaint, *, twice: bool = False) -> None:
        services.complaint_extend(complaint_id=complaint.pk, actor=self.agent, reason="需要时间")
        if twice:
            services.complaint_extension_request(
                complaint_id=complaint.pk, actor=self.agent, reason="还需要时间"
            )
            services.complaint_extension_approve(
                complaint_id=complaint.pk, actor=self.manager, reason="同意"
            )

    def pause_and_resume(self, complaint: Complaint) -> None:
        """A two-hour pause (the clock counts paused time to the minute)."""
        now = timezone.now()
        services.complaint_pause(
            complaint_id=complaint.pk,
            actor=self.agent,
            reason="外部鉴定",
            pause_reason="appraisal",
            now=now - timedelta(hours=2),
        )
        services.complaint_resume(
            complaint_id=complaint.pk, actor=self.agent, reason="鉴定完成", now=now
        )

    def withdraw(self, complaint: Complaint) -> None:
        services.complaint_withdraw(
            complaint_id=complaint.pk, actor=complaint.customer.user, reason="客户撤回"
        )

    def review(self, complaint: Complaint, *, changed: bool, at: datetime | None = None) -> None:
        review = services.review_request(
            complaint_id=complaint.pk, actor=complaint.customer.user, grounds="不同意"
        )
        change: dict = {}
        if changed:  # an upheld review changes the decision in the customer's favour
            rejected = [i.pk for i in complaint.items.all() if i.outcome == "rejected"]
            change = {"upheld_item_ids": rejected} if rejected else {"new_outcome": "upheld"}
        services.review_decide(
            review_id=review.pk,
            actor=self.manager2,
            reason="reviewed",
            outcome="upheld" if changed else "dismissed",
            decision_text="核查结果",
            **change,
        )
        if at is not None:
            _at(VerificationRequest, review.pk, received_at=at, decided_at=at + timedelta(hours=1))

    # --- closures -----------------------------------------------------------------------------

    def closed_account(self, *, reason: str = "overdue"):
        from tests.factories.closures import closed_by_risk

        account = CreditAccountFactory(overdue_count=4)
        closure = closed_by_risk(
            account=account, proposer=self.agent, approver=self.reviewer, actor=self.system
        )
        return account, closure

    def appeal(self, closure, *, outcome: str | None):
        user = closure.account.customer.user
        appeal = closure_services.appeal_file(actor=user, closure_id=closure.pk, grounds="申诉理由")
        if outcome:
            closure_services.appeal_decide(
                actor=self.manager,
                appeal_id=appeal.pk,
                outcome=outcome,
                decision_text="申诉结论",
                reason="decided",
            )
        return appeal


def _at(model, pk: int, **stamps: datetime) -> None:
    """Move a service's time stamps into the past (the reports bucket by them)."""
    model.objects.filter(pk=pk).update(**stamps)
