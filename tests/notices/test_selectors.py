from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from notices.selectors import notices_for_customer
from tests.factories import UserFactory
from tests.factories.notices import NoticeFactory, PortalNoticeFactory


def test_inbox_has_only_own_portal_non_sensitive_notices_newest_first(
    db, django_assert_max_num_queries
):
    user = UserFactory()
    now = timezone.now()
    old = PortalNoticeFactory(recipient=user, created_at=now - timedelta(days=2))
    new = PortalNoticeFactory(recipient=user, created_at=now)
    PortalNoticeFactory(recipient=user, sensitive=True)
    NoticeFactory(recipient=user)  # email
    PortalNoticeFactory()  # someone else's
    with django_assert_max_num_queries(1):
        assert list(notices_for_customer(user)) == [new, old]
