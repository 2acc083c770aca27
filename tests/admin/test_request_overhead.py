"""What every signed-in admin page costs before its own work: the session from the cache, the
user, their OTP device, and their permissions with their roles in one query; the sidebar's app
list kept per set of permissions and roles. A role granted or taken away counts from the next
request (signing out everywhere with a cached session: tests/hardening/test_staff_deactivate.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

QUEUE = "/admin/complaints/complaint/?queue=mine"
CANNED_ADD = "/admin/complaints/cannedreply/add/"


def _queries(client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return response.status_code, [q["sql"] for q in ctx.captured_queries]


def _touching(sqls: list[str], table: str) -> list[str]:
    return [sql for sql in sqls if f'"{table}"' in sql]


def test_a_signed_in_page_reads_permissions_and_roles_once_and_the_session_from_the_cache(
    staff_client,
):
    client, agent, _device = staff_client("agent")
    client.get(QUEUE)  # the session is in the cache from here on (read through at sign-in)
    status, sqls = _queries(client, QUEUE)
    assert status == 200
    permissions = _touching(sqls, "auth_permission")
    assert len(permissions) == 1, permissions  # the user's own and the groups' together
    roles = _touching(sqls, "auth_group")
    assert roles == permissions  # the auditor check reads no groups of its own
    assert _touching(sqls, "django_session") == []
    # The permissions come with the session's user row (PermissionBackend.get_user).
    assert permissions[0].startswith('SELECT "accounts_user"."id"'), permissions[0][:200]


def test_the_sidebar_follows_a_role_change_from_the_next_request(staff_client):
    client, manager, _device = staff_client("manager")
    page = client.get(QUEUE).content.decode()
    assert 'href="/admin/complaints/complaint/"' in page
    assert f'href="{CANNED_ADD}"' in page  # managers write the canned replies

    # The role store changes under the signed-in session (staff_upsert would also replace the
    # OTP device, which signs the session out: tests/hardening covers that).
    manager.groups.add(Group.objects.get(name="auditor"))
    page = client.get(QUEUE).content.decode()
    assert 'href="/admin/complaints/complaint/"' in page  # auditors read every case
    assert f'href="{CANNED_ADD}"' not in page  # and add nothing


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_sidebar_is_in_the_language_of_the_request(staff_client, language):
    client, _agent, _device = staff_client("agent")
    client.cookies["django_language"] = language
    page = client.get(QUEUE).content.decode()
    sidebar = page.split('id="nav-sidebar"', 1)[1].split("</nav>", 1)[0]
    if language == "zh-hans":
        assert "投诉" in sidebar and "Complaints</a>" not in sidebar
    else:
        assert "Complaints" in sidebar and "投诉" not in sidebar
