"""Session 6's additions attacked: the one-query PermissionBackend, the per-process app-list
cache, cached_db sessions with the security stamp, the FastFormRenderer (differential against
Django's own renderer) and the customer page, for every role, on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Group, Permission
from django.forms.renderers import DjangoTemplates
from django.test import Client
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from accounts.models import Customer, User
from accounts.services.customers import user_sessions_revoke
from accounts.staff import staff_deactivate
from core import crypto
from core.form_renderer import FastFormRenderer
from core.models import PiiAccessLog
from core.permissions import user_group_names
from tests.admin.conftest import login, stepup_now, without_stepup
from tests.factories import CreditAccountFactory, CustomerFactory, LoanRecordFactory

pytestmark = pytest.mark.django_db

ROLES = ("agent", "reviewer", "manager", "risk_officer", "auditor")
XSS = '<script>alert("x")</script>&\'"'
LOGIN = "/admin/login/"


def _perm(label: str) -> Permission:
    app_label, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def _apps(app_list) -> list:
    """An app list as plain data (lazy names rendered in English)."""
    with translation.override("en"):
        return [
            (
                app["app_label"],
                str(app["name"]),
                app["app_url"],
                [
                    (
                        m["object_name"],
                        str(m["name"]),
                        m.get("admin_url"),
                        m.get("add_url"),
                        dict(m["perms"]),
                        m.get("view_only"),
                    )
                    for m in app["models"]
                ],
            )
            for app in app_list
        ]


def _sidebar(client: Client, path: str = "/admin/accounts/customer/") -> tuple[list, list]:
    """(the sidebar's app list as served, Django's own app list built now for that request)."""
    resp = client.get(path)
    assert resp.status_code == 200, (resp.status_code, resp.get("Location"))
    served = _apps(resp.context["available_apps"])
    fresh = _apps(AdminSite.get_app_list(admin.site, resp.wsgi_request))  # uncached
    return served, fresh


def _urls(apps: list) -> set[str]:
    return {m[2] for app in apps for m in app[3] if m[2]}


def _signed_out(resp) -> bool:
    return resp.status_code == 302 and resp["Location"].startswith(LOGIN)


# --- Roles: a change applies on the next request; no role sees another's app list --------------


def test_every_role_gets_its_own_app_list_interleaved(staff_client):
    """Five roles signed in at once, each asking in turn (twice, so the second round is served
    from the per-process cache): each sidebar is Django's uncached one for that user."""
    clients = {role: staff_client(role)[0] for role in ROLES}
    seen: dict[str, list] = {}
    for _round in range(2):
        for role, client in clients.items():
            served, fresh = _sidebar(client)
            assert served == fresh, role
            if role in seen:
                assert served == seen[role]
            seen[role] = served
    # The roles differ (else the check above proves little).
    assert "/admin/core/piiaccesslog/" in _urls(seen["manager"])
    assert "/admin/core/piiaccesslog/" not in _urls(seen["agent"])
    assert seen["auditor"] != seen["agent"]
    auditor_change = [m[4]["change"] for app in seen["auditor"] for m in app[3]]
    assert not any(auditor_change)  # read-only everywhere


def test_a_permission_granted_then_taken_counts_from_the_next_request(staff_client):
    client, user, _device = staff_client("agent")
    page = "/admin/core/piiaccesslog/"
    served, _ = _sidebar(client)
    assert page not in _urls(served)
    assert client.get(page).status_code == 403
    user.user_permissions.add(_perm("core.view_piiaccesslog"))
    served, fresh = _sidebar(client)
    assert served == fresh and page in _urls(served)
    assert client.get(page).status_code == 200
    user.user_permissions.remove(_perm("core.view_piiaccesslog"))
    served, fresh = _sidebar(client)
    assert served == fresh and page not in _urls(served)
    assert client.get(page).status_code == 403


def test_a_group_that_changes_only_the_role_name_is_a_new_app_list(staff_client):
    """An auditor group holding no permission beyond the agent's: the permission set stays the
    same, only the group names differ, and the auditor must lose every change right."""
    client, user, _device = staff_client("manager")
    auditor = Group.objects.get(name="auditor")
    auditor.permissions.clear()  # rolled back with the test's transaction
    served, _ = _sidebar(client)
    assert any(m[4]["change"] for app in served for m in app[3])  # the canned replies
    before = frozenset(user.get_all_permissions())
    user.groups.add(auditor)
    fresh_user = User.objects.get(pk=user.pk)
    assert frozenset(fresh_user.get_all_permissions()) == before
    assert "auditor" in user_group_names(fresh_user)
    served, fresh = _sidebar(client)
    assert served == fresh
    assert not any(m[4]["change"] for app in served for m in app[3])
    resp = client.get("/admin/accounts/creditaccount/")
    assert resp.status_code == 200 and resp.context["action_form"] is None  # no actions
    assert client.get("/admin/complaints/cannedreply/add/").status_code == 403
    user.groups.remove(auditor)
    served, fresh = _sidebar(client)
    assert served == fresh and any(m[4]["change"] for app in served for m in app[3])


def test_a_role_swapped_applies_on_the_next_request(staff_client):
    client, user, _device = staff_client("manager")
    served, _ = _sidebar(client)
    assert "/admin/core/piiaccesslog/" in _urls(served)
    user.groups.set([Group.objects.get(name="agent")])
    served, fresh = _sidebar(client)
    assert served == fresh
    assert "/admin/core/piiaccesslog/" not in _urls(served)
    assert client.get("/admin/core/piiaccesslog/").status_code == 403
    customer = CustomerFactory()
    body = client.get(f"/admin/accounts/customer/{customer.pk}/change/").content.decode()
    assert "/unmask/" not in body
    assert client.get(f"/admin/accounts/customer/{customer.pk}/unmask/").status_code == 403


@pytest.mark.parametrize("flag", ["is_active", "is_staff"])
def test_deactivated_or_unstaffed_is_out_on_the_next_request(staff_client, flag):
    client, user, _device = staff_client("manager")
    other, _u, _d = staff_client("manager")  # same permissions: same cache key before
    assert client.get("/admin/").status_code == 200
    User.objects.filter(pk=user.pk).update(**{flag: False})
    for path in ("/admin/", "/admin/accounts/customer/", "/admin/core/piiaccesslog/"):
        resp = client.get(path)
        assert _signed_out(resp), (path, resp.status_code)
    assert other.get("/admin/core/piiaccesslog/").status_code == 200


def test_superuser_flag_taken_counts_from_the_next_request(staff_client):
    client, user, _device = staff_client("agent")
    User.objects.filter(pk=user.pk).update(is_superuser=True)
    served, fresh = _sidebar(client)
    assert served == fresh and "/admin/knox/authtoken/" in _urls(served)
    User.objects.filter(pk=user.pk).update(is_superuser=False)
    served, fresh = _sidebar(client)
    assert served == fresh and "/admin/knox/authtoken/" not in _urls(served)
    assert client.get("/admin/knox/authtoken/").status_code == 403


def test_app_list_differs_by_language_and_app_label(staff_client):
    client, _user, _device = staff_client("agent")
    en = client.get("/admin/accounts/?lang=en")
    zh = client.get("/admin/accounts/?lang=zh-hans")
    assert en.status_code == zh.status_code == 200
    assert [a["app_label"] for a in en.context["app_list"]] == ["accounts"]
    with translation.override("en"):
        en_names = [str(m["name"]) for m in en.context["app_list"][0]["models"]]
    with translation.override("zh-hans"):
        zh_names = [str(m["name"]) for m in zh.context["app_list"][0]["models"]]
    assert en_names != zh_names
    index = client.get("/admin/")
    assert len(index.context["app_list"]) > 1  # the app index's one-app list not reused


def test_permission_backend_agrees_with_djangos_model_backend(make_staff):
    from django.contrib.auth.backends import ModelBackend

    from core.permissions import PermissionBackend

    for role in ROLES:
        user, _device = make_staff(role)
        user.user_permissions.add(_perm("core.view_auditseal"))
        ours = PermissionBackend().get_all_permissions(User.objects.get(pk=user.pk))
        django = ModelBackend().get_all_permissions(User.objects.get(pk=user.pk))
        assert ours == django and ours, role
        u = User.objects.get(pk=user.pk)
        assert user_group_names(u) == frozenset({role})
        u.is_active = False
        assert PermissionBackend().get_all_permissions(u) == set()
        assert not u.has_perm("accounts.view_customer")


# --- Sessions: a session ended stays ended, though sessions are read from the cache --------------


def _copy(client: Client) -> Client:
    """Another browser holding the same session cookie."""
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return thief


@pytest.fixture(params=["locmem", "redis"])
def session_cache(request, settings, redis_url):
    if request.param == "redis":
        settings.CACHES = {
            "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": redis_url}
        }  # fmt: skip
        from django.core.cache import cache

        cache.clear()
    return request.param


def test_signed_out_cookie_no_longer_works(staff_client, session_cache):
    client, _user, _device = staff_client("manager")
    thief = _copy(client)
    assert thief.get("/admin/accounts/customer/").status_code == 200  # the cookie works
    assert client.post("/admin/logout/").status_code == 302
    for path in ("/admin/", "/admin/accounts/customer/"):
        assert _signed_out(thief.get(path))


def test_sign_out_everywhere_ends_every_cached_session(staff_client, system_user, session_cache):
    client, user, device = staff_client("manager")
    second = Client()
    assert login(second, user, device).status_code == 302
    assert client.get("/admin/").status_code == second.get("/admin/").status_code == 200
    user_sessions_revoke(user=User.objects.get(pk=user.pk), actor=system_user, reason="lost phone")
    assert _signed_out(client.get("/admin/"))
    assert _signed_out(second.get("/admin/accounts/customer/"))


def test_deactivation_ends_the_cached_session_for_good(staff_client, session_cache):
    client, user, _device = staff_client("agent")
    boss = User.objects.create_superuser("boss", password="x-Boss-pass-2026")
    assert client.get("/admin/").status_code == 200
    staff_deactivate(actor=boss, reason="left", user_id=user.pk)
    assert _signed_out(client.get("/admin/"))
    # Even switched back on, the old session (old stamp, deleted device) stays out.
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert _signed_out(client.get("/admin/"))


def test_password_change_elsewhere_ends_the_session(staff_client, session_cache):
    client, user, _device = staff_client("agent")
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password("Another-pass-2026!")
    fresh.save(update_fields=["password"])
    assert _signed_out(client.get("/admin/"))


def test_forged_or_unknown_session_keys_are_anonymous(client):
    for key in ("x" * 32, "short", "a" * 4096, "é" * 40, "../../etc/passwd"):
        client.cookies[settings.SESSION_COOKIE_NAME] = key
        resp = client.get("/admin/")
        assert _signed_out(resp), key


def test_nul_in_the_session_cookie_is_not_a_500(client):
    client.raise_request_exception = False
    cookie = f'{settings.SESSION_COOKIE_NAME}="abcdefghijklmnop\\000"'
    for path in ("/admin/", "/portal/"):
        resp = client.get(path, HTTP_COOKIE=cookie)
        assert resp.status_code < 500, (path, resp.status_code)


def test_nul_in_the_user_agent_of_a_failed_sign_in_is_not_a_500(make_staff, client):
    client.raise_request_exception = False
    user, _device = make_staff("agent")
    data = {"username": user.username, "password": "wrong", "otp_token": "123456"}
    resp = client.post(LOGIN, data, HTTP_USER_AGENT="evil\x00agent")
    assert resp.status_code < 500, resp.status_code


@pytest.mark.parametrize("url", [LOGIN, "/portal/login/"])
def test_nul_in_the_username_of_a_failed_sign_in_is_a_form_error(make_staff, client, url):
    """The lockout records the username typed: one with a NUL byte is refused by the form (a
    field error, the attempt counted), never written to PostgreSQL as it is."""
    client.raise_request_exception = False
    make_staff("agent")
    data = {"username": "agent\x00x", "password": "wrong", "otp_token": "123456"}
    resp = client.post(url, data)
    assert resp.status_code in (200, 403, 429), resp.status_code


# --- The customer page, role by role ------------------------------------------------------------


@pytest.fixture
def customer():
    customer = CustomerFactory(name=XSS, phone="13812345678", national_id="110105199001011234")
    LoanRecordFactory(account=CreditAccountFactory(customer=customer), merchant=XSS)
    return customer


def _customer_url(pk, tail: str = "change/") -> str:
    return f"/admin/accounts/customer/{pk}/{tail}"


@pytest.mark.parametrize("role", ROLES)
def test_customer_page_per_role_masks_and_escapes(staff_client, customer, role):
    client, _user, _device = staff_client(role)
    resp = client.get(_customer_url(customer.pk) + "?lang=en")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert customer.phone not in body and customer.national_id not in body
    assert crypto.mask_phone(customer.phone) in body
    assert "<script>alert" not in body  # the customer's name (and merchant) escaped
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert ("/unmask/" in body) is (role == "manager")
    assert "no-store" in resp["Cache-Control"]
    head = client.head(_customer_url(customer.pk))
    assert head.status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_posting_to_the_customer_page_changes_nothing(staff_client, customer, role):
    client, _user, _device = staff_client(role)
    before = Customer.objects.filter(pk=customer.pk).values().get()
    data = {"name": "Changed", "phone": "13900000000", "national_id": "x", "_save": "Save",
            "preferred_language": "en", "user": customer.user_id}  # fmt: skip
    resp = client.post(_customer_url(customer.pk), data)
    assert resp.status_code == 403
    for method in ("put", "patch", "delete", "options"):
        # Django's change view draws its (read-only) form for any method but POST.
        resp = getattr(client, method)(_customer_url(customer.pk), data)
        assert resp.status_code in (200, 403, 405), (method, resp.status_code)
        body = resp.content.decode()
        assert customer.phone not in body and customer.national_id not in body
        assert "<script>alert" not in body
    assert client.post(_customer_url(customer.pk, "delete/")).status_code in (403, 404, 302)
    assert Customer.objects.filter(pk=customer.pk).values().get() == before


def test_customer_page_refused_to_a_customer_and_to_a_roleless_staff_member(client, customer):
    user = User.objects.create_user("nobody", password="x")
    user.is_staff = True
    user.save()
    client.force_login(customer.user, backend="core.permissions.PermissionBackend")
    resp = client.get(_customer_url(customer.pk))
    assert _signed_out(resp)
    # A staff member without a verified OTP session (no device) reaches no admin page.
    client.force_login(user, backend="core.permissions.PermissionBackend")
    assert _signed_out(client.get(_customer_url(customer.pk)))


def test_without_view_permission_existing_and_missing_ids_look_the_same(staff_client, customer):
    client, user, _device = staff_client("agent")
    user.groups.clear()
    existing = client.get(_customer_url(customer.pk))
    missing = client.get(_customer_url(customer.pk + 10_000))
    assert existing.status_code == 403
    assert missing.status_code == existing.status_code


BAD_IDS = ["abc", "99999999999999999999999", "-1", "1.5", "0x10", "1e3", " 1", "١", "1/2",
           "%20", "x" * 3000, "%C3%A9", "null", "'--", "9223372036854775808"]  # fmt: skip


@pytest.mark.parametrize("tail", ["change/", "unmask/"])
def test_bad_customer_ids_never_answer_500(staff_client, customer, tail):
    client, _user, _device = staff_client("manager")
    client.raise_request_exception = False
    for bad in BAD_IDS:
        resp = client.get(_customer_url(bad, tail))
        assert resp.status_code in (302, 400, 403, 404), (bad, tail, resp.status_code)
        if resp.status_code == 302:
            assert resp["Location"] in ("/admin/",) or "/stepup/" in resp["Location"], resp[
                "Location"
            ]
        post = client.post(_customer_url(bad, tail))
        assert post.status_code in (302, 400, 403, 404), (bad, tail, post.status_code)
    for url in (
        _customer_url("1%00"),
        f"/admin/accounts/customer/%00/{tail}",
        _customer_url(customer.pk, tail) + "?x=%00",
        _customer_url(customer.pk, tail) + "?%00=1",
        _customer_url(customer.pk, tail) + "?_to_field=national_id",
        _customer_url(customer.pk, tail) + "?_changelist_filters=%00",
    ):
        resp = client.get(url)
        assert resp.status_code in (200, 302, 400, 403, 404), (url, resp.status_code)


def test_bad_id_on_the_customer_history_page_is_not_a_500(staff_client):
    client, _user, _device = staff_client("agent")
    client.raise_request_exception = False
    for bad in ("abc", "1.5", "x" * 100):
        resp = client.get(_customer_url(bad, "history/"))
        assert resp.status_code in (302, 400, 404), (bad, resp.status_code)


def test_manager_sees_unmasked_data_only_after_step_up(staff_client, customer):
    client, user, _device = staff_client("manager")
    without_stepup(client)
    page = _customer_url(customer.pk, "unmask/")
    resp = client.get(page)
    assert resp.status_code == 302 and "/admin/stepup/" in resp["Location"]
    resp = client.post(page)
    assert resp.status_code == 302 and "/admin/stepup/" in resp["Location"]
    assert not PiiAccessLog.objects.filter(user=user).exists()
    stepup_now(client, user)
    resp = client.get(page)
    assert resp.status_code == 200 and customer.phone not in resp.content.decode()
    resp = client.post(page)
    body = resp.content.decode()
    assert resp.status_code == 200 and customer.phone in body and customer.national_id in body
    assert "no-store" in resp["Cache-Control"]
    assert PiiAccessLog.objects.filter(user=user, subject=f"customer:{customer.pk}").count() == 1
    # The change page itself stays masked after the step-up.
    assert customer.phone not in client.get(_customer_url(customer.pk)).content.decode()


@pytest.mark.parametrize("role", ["agent", "reviewer", "risk_officer", "auditor"])
def test_other_roles_never_unmask_even_after_step_up(staff_client, customer, role):
    client, user, _device = staff_client(role)
    stepup_now(client, user)
    page = _customer_url(customer.pk, "unmask/")
    assert client.get(page).status_code == 403
    assert client.post(page).status_code == 403
    assert not PiiAccessLog.objects.exists()


def test_forged_forwarded_address_on_unmask_is_not_a_500(staff_client, customer, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client, user, _device = staff_client("manager")
    client.raise_request_exception = False
    resp = client.post(_customer_url(customer.pk, "unmask/"), HTTP_X_FORWARDED_FOR="not-an-ip")
    assert resp.status_code < 500, resp.status_code
    data = {"username": user.username, "password": "wrong", "otp_token": "123456"}
    resp = Client(raise_request_exception=False).post(LOGIN, data, HTTP_X_FORWARDED_FOR="x")
    assert resp.status_code < 500, resp.status_code


# --- The form renderer against Django's, value by value ------------------------------------------


VALUES = [None, "", "plain", "q\"uo'te", "<script>alert(1)</script>", "a&b&amp;c", "日本語 é ☃ 𝄞",
          "x" * 5000, mark_safe("<b>safe</b>"), 0, 1, True, False, Decimal("1234.50"), 12345678,
          1.5, gettext_lazy("Yes"), date(2026, 1, 2), datetime(2026, 1, 2, 3, 4, 5), time(1, 2),
          ("a", "b"), {"k": "<v>"}, "\u2028\r\n\t", "{{ x }}{% y %}", "%s%(a)s"]  # fmt: skip
ATTRS = [None, {}, {"id": "id_x"}, {"id": 'a"b', "class": "<c>&"},
         {"required": True, "disabled": False, "x": None},
         {"data-v": '"><script>', "autofocus": True, "placeholder": gettext_lazy("Search")},
         {"class": True}, {"id": ""}, {"id": 0}, {"n": 0, "m": 1, "o": ""},
         {"id": mark_safe("<i>")}, {'x"y': "1", "<z>": True}]  # fmt: skip
INPUT_WIDGETS = (forms.TextInput, forms.NumberInput, forms.HiddenInput, forms.PasswordInput,
                 forms.EmailInput, forms.URLInput, forms.DateInput, forms.DateTimeInput,
                 forms.TimeInput, forms.CheckboxInput, forms.Textarea, forms.FileInput,
                 forms.SearchInput, forms.TelInput, forms.ColorInput)  # fmt: skip
CHOICE_WIDGETS = (forms.Select, forms.SelectMultiple, forms.RadioSelect,
                  forms.CheckboxSelectMultiple)  # fmt: skip


def _choices(v):
    return [("", "---"), (v, v), ("grp <&>", [("x", v), (1, "one"), (v, "dup")]),
            (mark_safe("<s>"), mark_safe("<b>lab</b>")), (None, "none"), (2, 2),
            (gettext_lazy("No"), [("z", "Z")]), ("empty group", [])]  # fmt: skip


class DisabledOptions(forms.Select):
    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        if option["value"] in ("x", 1):
            option["attrs"]["disabled"] = True
        option["attrs"]["data-label"] = option["label"]
        option["attrs"]["data-off"] = False
        return option


class DisabledRadio(forms.RadioSelect):
    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        if option["value"] == "x":
            option["attrs"]["disabled"] = True
        return option


def _same(widget, name, value, django, fast) -> str | None:
    def draw(renderer):
        try:
            return widget.render(name, value, renderer=renderer)
        except Exception as exc:  # noqa: BLE001 - both must fail alike
            return f"error {type(exc).__name__}"

    a, b = draw(django), draw(fast)
    return None if a == b else f"{type(widget).__name__} {name!r} {value!r:.60}\n{a}\n{b}"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_fast_renderer_is_byte_equal_to_djangos_for_hostile_values(language, settings):
    settings.USE_THOUSAND_SEPARATOR = True
    django, fast = DjangoTemplates(), FastFormRenderer()
    diffs, total = [], 0
    with translation.override(language):
        for i, value in enumerate(VALUES):
            # Each value with two attribute sets in turn (every pair would take a minute).
            for attrs in (ATTRS[i % len(ATTRS)], ATTRS[-1 - (i * 5) % len(ATTRS)]):
                for kind in INPUT_WIDGETS:
                    total += 1
                    name = 'n"<&>' if total % 2 else "f"
                    diffs.append(_same(kind(attrs=attrs), name, value, django, fast))
                label = value if not isinstance(value, (dict, tuple)) else "l"
                for kind in (*CHOICE_WIDGETS, DisabledOptions, DisabledRadio):
                    widget = kind(attrs=attrs, choices=_choices(label))
                    for selected in (value, [value, "x"], ["x", 1, 2, "z"]):
                        total += 1
                        diffs.append(_same(widget, "s", selected, django, fast))
                widget = forms.NullBooleanSelect(attrs=attrs)
                diffs.append(_same(widget, "nb", value, django, fast))
    diffs = [d for d in diffs if d]
    assert total > 1_500
    assert not diffs, "\n\n".join(diffs[:5])
    # And the fast path was taken (not every template sent back to the engine).
    assert all(fast._verified.values()) and len(fast._verified) >= 10


class HostileForm(forms.Form):
    a = forms.CharField(label=mark_safe("<b>L</b>"), help_text="<h>&", max_length=3)
    b = forms.IntegerField(label='x"<&', widget=forms.NumberInput(attrs={"id": 'i"d'}))
    c = forms.ChoiceField(
        choices=[("<", "<"), ("g", [("1", "&")])],
        widget=forms.RadioSelect(attrs={"class": '"c"'}),
    )
    m = forms.MultipleChoiceField(
        choices=[("<", "<"), ("g", [("1", "&")])], widget=forms.CheckboxSelectMultiple
    )
    t = forms.CharField(widget=forms.Textarea, required=False)

    def clean(self):
        raise forms.ValidationError(["<err>", mark_safe("<i>safe</i>")])


@pytest.mark.parametrize("auto_id", ["id_%s", False, '"%s<'])
def test_whole_hostile_forms_with_errors_and_labels_are_equal(auto_id):
    bound = {"a": "<xx>&", "b": "1e99", "c": "zz", "m": ["<", "nope"], "t": "</textarea><b>"}
    for data in (None, bound, {"a": "\x00"}):
        for language in ("en", "zh-hans"):
            with translation.override(language):
                d = HostileForm(data, auto_id=auto_id, renderer=DjangoTemplates())
                f = HostileForm(data, auto_id=auto_id, renderer=FastFormRenderer())
                for method in ("as_div", "as_p", "as_table", "as_ul"):
                    assert getattr(d, method)() == getattr(f, method)(), (data, method)
                attrs = {"class": '"<', "t": True, "f": False, "n": None}
                for name in d.fields:
                    assert d[name].label_tag(attrs=attrs) == f[name].label_tag(attrs=attrs)
                    assert d[name].legend_tag() == f[name].legend_tag()
                    assert str(d[name].errors) == str(f[name].errors)
                assert "</textarea><b>" not in f.as_div()
