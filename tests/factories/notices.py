"""Factories for the notices outbox (prefer `notice_enqueue` where the rendering matters)."""

from __future__ import annotations

import factory
from django.utils import timezone

from notices.enums import Channel, NoticeStatus
from notices.models import Notice
from tests.factories import UserFactory


class NoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notice

    event = "staff.alert"
    recipient = factory.SubFactory(UserFactory)
    channel = Channel.EMAIL
    language = "zh-hans"
    idempotency_key = factory.Sequence(lambda n: f"factory|{n}")
    subject = "Subject"
    body = "Body\n"
    status = NoticeStatus.PENDING
    next_attempt_at = factory.LazyFunction(timezone.now)


class PortalNoticeFactory(NoticeFactory):
    channel = Channel.PORTAL
    status = NoticeStatus.SENT
    sent_at = factory.LazyFunction(timezone.now)
    provider_message_id = "portal"
