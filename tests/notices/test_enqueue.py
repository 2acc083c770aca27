"""notice_enqueue / notice_enqueue_staff: what rows are written, in which language, and when
the task is published."""

from __future__ import annotations

import pytest

from core import crypto
from core.errors import ApplicationError
from notices.enums import Channel, NoticeStatus
from notices.models import Notice
from notices.selectors import notices_for_customer
from notices.services import (
    notice_enqueue,
    notice_enqueue_staff,
    notice_is_delivered,
    notices_publish,
)
from tests.factories import CustomerFactory, StaffFactory, UserFactory
from tests.notices.conftest import queued_notice_ids

ALL = ("portal", "email", "sms")


def _enqueue(user, actor, **kw):
    kw.setdefault("channels", ALL)
    kw.setdefault("context", {"title": "Hello", "text": "Body <b>&</b>"})
    return notice_enqueue(event="staff.alert", recipient=user, actor=actor, **kw)


def test_one_row_per_channel_in_the_customer_language(customer, system_user):
    notices = _enqueue(customer.user, system_user, obj=customer)
    assert [n.channel for n in notices] == ["portal", "email", "sms"]
    by_channel = {n.channel: n for n in notices}
    portal = by_channel["portal"]
    assert portal.status == NoticeStatus.SENT and portal.sent_at is not None
    assert portal.provider_message_id == "portal"
    for channel in ("email", "sms"):
        assert by_channel[channel].status == NoticeStatus.PENDING
    for n in notices:
        assert n.language == "en"
        assert n.subject == "[Alert] Hello"
        assert n.body == "Body <b>&</b>\n"  # plain text: no HTML escaping
        assert n.recipient == customer.user
        assert n.history.first().history_user == system_user


def test_chinese_customer_gets_the_chinese_template(zh_customer, system_user):
    notices = _enqueue(zh_customer.user, system_user)
    assert {n.subject for n in notices} == {"【提醒】Hello"}
    assert {n.language for n in notices} == {"zh-hans"}


def test_enqueue_is_at_most_once_per_event_object_recipient_channel(customer, system_user):
    first = _enqueue(customer.user, system_user, obj=customer)
    again = _enqueue(customer.user, system_user, obj=customer)
    assert [n.pk for n in again] == [n.pk for n in first]
    assert Notice.objects.count() == 3
    resent = _enqueue(customer.user, system_user, obj=customer, key="2")
    assert Notice.objects.count() == 6
    assert {n.pk for n in resent}.isdisjoint({n.pk for n in first})


def test_channel_without_address_is_skipped(system_user):
    customer = CustomerFactory(user=UserFactory(email=""))
    notices = _enqueue(customer.user, system_user)
    assert [n.channel for n in notices] == ["portal", "sms"]


def test_staff_recipient_gets_no_portal_message(system_user):
    staff = StaffFactory(email="agent@example.com")
    notices = _enqueue(staff, system_user)
    assert [n.channel for n in notices] == ["email"]
    assert notices[0].language == "zh-hans"


def test_sensitive_code_is_never_in_portal_nor_stored_in_plain_text(customer, system_user):
    notices = _enqueue(
        customer.user, system_user, context={"title": "Code", "code": "482913"}, sensitive=True
    )
    # The staff.alert body is `{{ text }}`; give it the code through a template that shows it.
    assert [n.channel for n in notices] == ["email", "sms"]
    assert not notices_for_customer(customer.user).exists()


def test_sensitive_body_is_sealed_and_redacted(customer, system_user):
    event = "test.code"
    notices = notice_enqueue(
        event=event,
        recipient=customer.user,
        context={"code": "482913"},
        actor=system_user,
        sensitive=True,
    )
    assert [n.channel for n in notices] == ["sms", "email"]
    for n in notices:
        n.refresh_from_db()
        assert "482913" not in n.body and "******" in n.body
        assert "482913" not in n.sealed_body
        assert crypto.decrypt(n.sealed_body) == "Your code is 482913.\n"
        assert not hasattr(n.history.first(), "sealed_body")


def test_sensitive_without_any_address_is_an_error(system_user):
    user = UserFactory(email="")
    with pytest.raises(ApplicationError) as exc:
        _enqueue(user, system_user, sensitive=True)
    assert exc.value.code == "notice_no_channel"


def test_non_sensitive_without_any_address_writes_nothing(system_user):
    assert _enqueue(UserFactory(email=""), system_user) == []


def test_inbox_selector_lists_portal_notices_newest_first(customer, system_user):
    other = CustomerFactory()
    first = _enqueue(customer.user, system_user, key="1")[0]
    second = _enqueue(customer.user, system_user, key="2")[0]
    _enqueue(other.user, system_user)
    assert list(notices_for_customer(customer.user)) == [second, first]


def test_staff_notice_to_each_role_member_with_email(manager, system_user):
    StaffFactory(role="manager", email="")  # no address: not a recipient
    StaffFactory(role="manager", email="m2@example.com", is_active=False)  # inactive
    StaffFactory(role="agent", email="agent@example.com")  # another role
    notices = notice_enqueue_staff(
        event="staff.alert", context={"title": "T", "text": "x"}, actor=system_user, role="manager"
    )
    assert [(n.recipient, n.channel, n.address) for n in notices] == [(manager, "email", "")]


def test_staff_notice_falls_back_to_the_alert_address(db, system_user, settings):
    settings.STAFF_ALERT_EMAIL = "desk-alerts@example.com"
    notices = notice_enqueue_staff(
        event="staff.alert", context={"title": "T", "text": "x"}, actor=system_user, role="manager"
    )
    assert [(n.recipient, n.address) for n in notices] == [(None, "desk-alerts@example.com")]


def test_staff_notice_to_one_person(system_user):
    person = StaffFactory(email="p@example.com")
    notices = notice_enqueue_staff(
        event="staff.alert", context={"title": "T", "text": "x"}, actor=system_user, user=person
    )
    assert [n.recipient for n in notices] == [person]


def test_task_is_published_on_commit_only(
    customer, system_user, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notices = _enqueue(customer.user, system_user)
    assert queued_notice_ids(broker) == []  # nothing before commit
    for callback in callbacks:
        callback()
    external = sorted(n.pk for n in notices if n.channel != Channel.PORTAL)
    assert queued_notice_ids(broker) == external


def test_publish_never_raises_when_the_broker_is_down(customer, system_user, monkeypatch):
    notices = _enqueue(customer.user, system_user)
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    assert notices_publish([n.pk for n in notices]) == 0


def test_notice_is_delivered_only_for_a_sent_external_notice(customer, system_user):
    notices = _enqueue(customer.user, system_user, obj=customer)
    assert not notice_is_delivered(event="staff.alert", obj=customer)  # portal does not count
    sms = next(n for n in notices if n.channel == "sms")
    sms.status = NoticeStatus.SENT
    sms.save()
    assert notice_is_delivered(event="staff.alert", obj=customer)
    assert notice_is_delivered(event="staff.alert", obj=customer, recipient=customer.user)
    assert not notice_is_delivered(event="staff.alert", obj=customer, recipient=UserFactory())
    assert not notice_is_delivered(event="staff.other", obj=customer)


def test_enqueue_query_count_is_small(customer, system_user, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        _enqueue(customer.user, system_user)
