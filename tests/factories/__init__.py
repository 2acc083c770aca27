"""factory_boy factories. Domain state that matters is built through services (see helpers
below); these factories only create rows whose invariants they keep themselves."""

from __future__ import annotations

from decimal import Decimal

import factory
from django.contrib.auth.models import Group

from accounts.enums import AuthMethod, LoanChannel, LoanKind
from accounts.models import AuthorizationEvent, CreditAccount, Customer, LoanRecord, User
from core import crypto


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "test-pass-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class StaffFactory(UserFactory):
    is_staff = True
    username = factory.Sequence(lambda n: f"staff{n}")

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):  # noqa: N805
        if create and extracted:
            from backoffice.roles import roles_sync

            if not Group.objects.filter(name=extracted).exists():
                roles_sync()
            obj.groups.add(Group.objects.get(name=extracted))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"客户{n}")
    national_id = factory.Sequence(lambda n: f"110105199001{n:06d}")
    national_id_index = factory.LazyAttribute(lambda o: crypto.blind_index(o.national_id))
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    phone_index = factory.LazyAttribute(lambda o: crypto.blind_index(o.phone))


class CreditAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditAccount

    number = factory.Sequence(lambda n: f"62{n:014d}")
    customer = factory.SubFactory(CustomerFactory)
    credit_limit = Decimal("20000.00")
    available_credit = factory.LazyAttribute(lambda o: o.credit_limit - o.outstanding_balance)
    outstanding_balance = Decimal("0.00")


class LoanRecordFactory(factory.django.DjangoModelFactory):
    """A loan row only; use accounts.services.loan_record when balances must move with it."""

    class Meta:
        model = LoanRecord

    reference = factory.Sequence(lambda n: f"LNTEST{n:010d}")
    account = factory.SubFactory(CreditAccountFactory)
    amount = Decimal("199.00")
    outstanding_amount = factory.LazyAttribute(lambda o: o.amount)
    kind = LoanKind.PURCHASE
    channel = LoanChannel.APP
    merchant = "京东自营"


class AuthorizationEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuthorizationEvent

    account = factory.LazyAttribute(lambda o: o.loan.account)
    loan = factory.SubFactory(LoanRecordFactory)
    method = AuthMethod.SMS_CODE
    channel = LoanChannel.APP
    device_id = "device-1"
    ip_address = "10.1.2.3"
