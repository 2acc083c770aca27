"""Every declared event has templates in both languages; unknown or incomplete events fail
loudly at enqueue time."""

from __future__ import annotations

import pytest

from core.errors import ApplicationError
from notices.events import events_problems, events_registry, languages
from notices.models import Notice
from notices.services import notice_enqueue


def test_every_declared_event_has_a_template_in_every_language():
    assert set(languages()) == {"zh-hans", "en"}
    assert "staff.notice_failed" in events_registry()
    assert events_problems() == []


def test_every_template_renders_a_subject_and_body():
    from notices.render import notice_render

    for event in events_registry():
        for language in languages():
            subject, body = notice_render(event=event, language=language, context={})
            assert subject, (event, language)


def test_unknown_event_is_an_error_at_enqueue(customer, system_user):
    with pytest.raises(ApplicationError) as exc:
        notice_enqueue(
            event="complaint.no_such_event", recipient=customer.user, context={}, actor=system_user
        )
    assert exc.value.code == "notice_unknown_event"
    assert not Notice.objects.exists()


def test_missing_template_is_an_error_at_enqueue(customer, system_user, temp_event):
    event = temp_event("test.without_templates")
    assert any("test.without_templates" in p for p in events_problems())
    with pytest.raises(ApplicationError) as exc:
        notice_enqueue(event=event, recipient=customer.user, context={}, actor=system_user)
    assert exc.value.code == "notice_missing_template"
    assert not Notice.objects.exists()


def test_unknown_channel_is_an_error(customer, system_user):
    with pytest.raises(ApplicationError) as exc:
        notice_enqueue(
            event="staff.alert",
            recipient=customer.user,
            context={},
            actor=system_user,
            channels=("pigeon",),
        )
    assert exc.value.code == "notice_bad_channel"
