"""Helpers that build complaint state through the services (where it matters)."""

from __future__ import annotations

from decimal import Decimal

from accounts import services as account_services
from accounts.enums import AuthMethod, LoanChannel, LoanKind
from accounts.services import AuthorizationInput
from complaints import services
from complaints.enums import Category, Channel
from core.models import StepUpVerification
from tests.factories import CreditAccountFactory, StaffFactory


def account_with_loans(
    *,
    actor,
    amounts=("199.00",),
    authorized=False,
    merchant="某商户",
    partner_interface="",
    customer=None,
    fees="0.00",
):
    kwargs = {"customer": customer} if customer else {}
    account = CreditAccountFactory(**kwargs)
    loans = []
    for amount in amounts:
        auth = (
            AuthorizationInput(
                method=AuthMethod.SMS_CODE,
                channel=LoanChannel.APP,
                device_id="dev-1",
                ip_address="10.0.0.1",
            )
            if authorized
            else None
        )
        loans.append(
            account_services.loan_record(
                actor=actor,
                reason="test",
                account_id=account.pk,
                amount=Decimal(amount),
                kind=LoanKind.PURCHASE,
                channel=LoanChannel.PARTNER_API if partner_interface else LoanChannel.APP,
                merchant=merchant,
                partner_interface=partner_interface,
                fees=Decimal(fees),
                authorization=auth,
            )
        )
    account.refresh_from_db()
    return account, loans


def dispute(*, account, loans, compromised=False, channel=Channel.PORTAL):
    user = account.customer.user
    return services.complaint_submit(
        actor=user,
        reason="customer dispute",
        customer=account.customer,
        category=Category.UNAUTHORIZED_LOAN,
        description="我没有借过这笔钱",
        channel=channel,
        account_id=account.pk,
        loan_record_ids=[loan.pk for loan in loans],
        account_compromised=compromised,
    )


def staff(role: str, **kwargs):
    return StaffFactory(role=role, **kwargs)


def fresh_stepup(user) -> None:
    StepUpVerification.objects.create(user=user, purpose="test")
