"""The staff admin site: every admin page needs a session verified by an OTP device.

- Login (`/admin/login/`): username + password + one-time code in one form. A staff member
  with no confirmed device yet is signed in password-only and sent to enrollment; that session
  reaches no admin page (``has_permission`` requires ``request.user.is_verified()``).
- Enrollment (`/admin/enroll/`): QR code (inline SVG) of a new TOTP device (core's, its seed
  encrypted at rest), confirmed with a code; then backup codes (stored as hashes), shown once.
- Step-up (`/admin/stepup/?next=...`): a fresh one-time code for sensitive actions
  (``core.stepup``), then back to ``next``. Bound to the session: the code entered at sign-in
  (or at enrollment) counts for the session it opens, a code entered here for this session.
- Logout (`/admin/logout/`, POST).

Registering a ModelAdmin on this site always mixes in ``NoDeleteMixin`` and
``AuditorReadOnlyMixin`` (third-party admins included): nothing is deleted from the admin and
auditors change nothing.

Authentication secrets never appear on an admin page: knox's API-token admin (which lists
digests, searches by token prefix and mints tokens from an add form) is replaced by
``SecretFreeAdmin`` (who holds a token, since and until when; superusers only, read-only);
django-otp's plain-text device admins (otp_totp shows the seed and its QR code, otp_static the
codes) are not registered at all (their tables are empty: core/otp_models.py holds the devices,
and has no admin page).
"""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, get_urlconf, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.admin import OTPAdminSite

from accounts.forms import credentials_bound
from accounts.staff import staff_totp_enroll_confirm, staff_totp_enroll_start
from core.admin_helpers import AuditorReadOnlyMixin, NoDeleteMixin
from core.admin_history import ReadOnlyHistoryMixin
from core.permissions import user_group_names
from core.stepup import StepUpResult, stepup_check, stepup_record, stepup_refusal

from . import trail
from .reports import views as reports

CODE_LABEL = gettext_lazy("One-time code")
# App lists kept per process (StaffAdminSite.get_app_list): one per role and language is a few
# dozen; the bound only guards against a stream of one-off permission sets.
APP_LISTS_KEPT = 256


def _code_field(label: Any = CODE_LABEL) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=16,
        required=False,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": False}
        ),
    )


class StaffLoginForm(AdminAuthenticationForm):
    """Password and one-time code together; one error message for any wrong part."""

    otp_token = _code_field()

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": gettext_lazy(
            "Please enter the correct username, password and one-time code of a staff "
            "account. Note that the fields may be case-sensitive."
        ),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        credentials_bound(self)
        self.otp_device = None

    def clean(self) -> dict:
        cleaned = super().clean()  # password, is_active, is_staff (axes counts failures)
        user = self.get_user()
        if user is None:
            return cleaned
        devices = list(devices_for_user(user, confirmed=True))
        if not devices:
            # First login: password only, then enrollment. That session reaches no admin page.
            return cleaned
        token = (cleaned.get("otp_token") or "").strip().replace(" ", "")
        for device in devices:
            if token and device.verify_token(token):
                self.otp_device = device
                user.otp_device = device  # django_otp persists it on user_logged_in
                return cleaned
        user_login_failed.send(
            sender=__name__,
            credentials={"username": cleaned.get("username")},
            request=self.request,
        )
        self.user_cache = None
        raise self.get_invalid_login_error()


class StaffLoginView(LoginView):
    authentication_form = StaffLoginForm
    template_name = "admin/backoffice/login.html"

    def form_valid(self, form: StaffLoginForm) -> HttpResponse:
        response = super().form_valid(form)  # signs in: a new session key
        if form.otp_device is None:
            return HttpResponseRedirect(reverse("admin:enroll"))
        # The one-time code just entered is a fresh step-up of this (new) session.
        stepup_record(
            user=form.get_user(),
            session_key=self.request.session.session_key or "",
            purpose="sign-in",
        )
        return response


class StepUpForm(forms.Form):
    otp_token = _code_field()

    def __init__(self, *args: Any, user: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.request = request

    def clean(self) -> dict:
        cleaned = super().clean()
        result = stepup_check(
            user=self.user,
            token=cleaned.get("otp_token") or "",
            session_key=self.request.session.session_key or "",
            purpose="admin",
        )
        if result is not StepUpResult.OK:
            code = "throttled" if result is StepUpResult.THROTTLED else "invalid_token"
            raise forms.ValidationError(stepup_refusal(result, user=self.user), code=code)
        return cleaned


class EnrollForm(forms.Form):
    otp_token = _code_field(gettext_lazy("Code shown by your authenticator"))


def qr_svg(data: str) -> str:
    """An inline SVG QR code of `data` (no image file, nothing leaves the server)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


class SecretFreeAdmin(admin.ModelAdmin):
    """A credential table, readable by superusers only: who and when, never the secret; no add,
    no change (revocation goes through the services: deactivation, password change,
    create_service_user)."""

    secret_free_fields: tuple[str, ...] = ("user", "created")
    list_display_links = None  # no change page link (knox's primary key is the digest)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("=user__username",)
    ordering = ("-pk",)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        return self.secret_free_fields

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.secret_free_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.secret_free_fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list only: an object's own pages (change, history) would title it by str(obj),
        # which for knox is the digest.
        return bool(request.user.is_active and request.user.is_superuser and obj is None)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _secret_free_admins() -> dict[str, tuple[str, ...] | None]:
    """model label -> fields SecretFreeAdmin shows (None: not registered at all)."""
    return {
        "knox.authtoken": ("user", "created", "expiry"),
        "otp_totp.totpdevice": None,
        "otp_static.staticdevice": None,
    }


class StaffAdminSite(OTPAdminSite):
    site_header = gettext_lazy("Credit service desk")
    site_title = gettext_lazy("Service desk back-office")
    index_title = gettext_lazy("Back-office")
    # "View site" leads to the customers' portal (the site root has no page of its own).
    site_url = "/portal/"
    login_form = StaffLoginForm
    login_template = "admin/backoffice/login.html"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
        self.disable_action("delete_selected")
        self._app_lists: dict[tuple, list[dict[str, Any]]] = {}

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list:
        """Django's app list (the sidebar of every admin page, the index), kept per process
        for each set of permissions and roles, language and URL configuration: building it
        asks ~20 ModelAdmins for four permissions each and reverses their URLs (~2.5 ms of
        every admin page, bench.complaints). Which apps and models a ModelAdmin here shows
        depends on nothing else (is_active, is_superuser, the permissions, the auditor role):
        a role granted or taken away is a new key, from the next request on."""
        user = request.user
        key = (
            app_label,
            get_language(),
            get_script_prefix(),
            get_urlconf(),
            user.is_active,
            user.is_staff,
            user.is_superuser,
            frozenset(user.get_all_permissions()),
            user_group_names(user),
        )
        app_list = self._app_lists.get(key)
        if app_list is None:
            app_list = super().get_app_list(request, app_label)
            if len(self._app_lists) >= APP_LISTS_KEPT:
                self._app_lists.clear()
            self._app_lists[key] = app_list
        return list(app_list)

    def register(self, model_or_iterable: Any, admin_class: Any = None, **options: Any) -> None:
        admin_class = admin_class or admin.ModelAdmin
        models = [model_or_iterable] if isinstance(model_or_iterable, type) else model_or_iterable
        secret_free = _secret_free_admins()
        labels = {model._meta.label_lower for model in models}
        if labels & secret_free.keys() and not issubclass(admin_class, SecretFreeAdmin):
            for model in models:
                fields = secret_free.get(model._meta.label_lower, ())
                if fields is None:
                    continue
                if fields:
                    safe = type(
                        f"{model.__name__}SecretFreeAdmin",
                        (SecretFreeAdmin,),
                        {"__module__": __name__, "secret_free_fields": fields},
                    )
                    self.register(model, safe)
                else:
                    self.register(model, admin_class, **options)
            return
        missing = tuple(
            m
            for m in (ReadOnlyHistoryMixin, NoDeleteMixin, AuditorReadOnlyMixin)
            if not issubclass(admin_class, m)
        )
        if missing:
            admin_class = type(
                admin_class.__name__,
                (*missing, admin_class),
                {"__module__": admin_class.__module__},
            )
        super().register(model_or_iterable, admin_class, **options)

    # --- URLs ------------------------------------------------------------------------------

    def get_urls(self) -> list:
        custom = [
            path("logout/", csrf_protect(never_cache(require_POST(self.logout))), name="logout"),
            path("enroll/", csrf_protect(never_cache(self.enroll_view)), name="enroll"),
            path("stepup/", self.admin_view(self.stepup_view), name="stepup"),
            path("audit/", self.admin_view(self.trail_view), name="audit"),
            path(
                "audit/timeline/<str:label>/<str:object_id>/",
                self.admin_view(self.timeline_view),
                name="audit_timeline",
            ),
            path("reports/", self.admin_view(self.reports_view), name="reports"),
            path(
                "reports/charts.css",
                self.admin_view(reports.stylesheet_view, cacheable=True),
                name="reports_css",
            ),
            path("reports/<slug:name>/", self.admin_view(self.report_view), name="report"),
        ]
        return custom + super().get_urls()

    def trail_view(self, request: HttpRequest) -> HttpResponse:
        return trail.trail_view(request, self)

    def timeline_view(self, request: HttpRequest, label: str, object_id: str) -> HttpResponse:
        return trail.timeline_view(request, self, label, object_id)

    def reports_view(self, request: HttpRequest) -> HttpResponse:
        return reports.dashboard_view(request, self)

    def report_view(self, request: HttpRequest, name: str) -> HttpResponse:
        return reports.report_view(request, self, name)

    # --- Login / logout ---------------------------------------------------------------------

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method == "GET" and self.has_permission(request):
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        context = {
            **self.each_context(request),
            "title": _("Log in"),
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
        }
        if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
            context[REDIRECT_FIELD_NAME] = reverse("admin:index", current_app=self.name)
        context.update(extra_context or {})
        request.current_app = self.name
        return StaffLoginView.as_view(extra_context=context)(request)

    def logout(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        auth_logout(request)
        return HttpResponseRedirect(reverse("admin:login", current_app=self.name))

    # --- Enrollment -------------------------------------------------------------------------

    def enroll_view(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        login_url = reverse("admin:login", current_app=self.name)
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return HttpResponseRedirect(login_url)
        if user.is_verified():
            return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
        if any(True for _d in devices_for_user(user, confirmed=True)):
            # Enrolled already: sign in with a code from that device.
            return HttpResponseRedirect(login_url)
        device = staff_totp_enroll_start(user=user)
        form = EnrollForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            codes = staff_totp_enroll_confirm(
                user=user, device_id=device.pk, token=form.cleaned_data["otp_token"]
            )
            if codes is not None:
                device.refresh_from_db()
                otp_login(request, device)
                if not request.session.session_key:
                    request.session.save()
                stepup_record(
                    user=user, session_key=request.session.session_key, purpose="enrollment"
                )
                context = {
                    **self.each_context(request),
                    "title": _("Your backup codes"),
                    "codes": codes,
                    "index_url": reverse("admin:index", current_app=self.name),
                }
                response = TemplateResponse(request, "staff/backup_codes.html", context)
                response["Cache-Control"] = "no-store"
                return response
            form.add_error(
                "otp_token",
                _("That code is not valid. Enter the current code from your authenticator."),
            )
        secret = device.config_url.split("secret=", 1)[1].split("&", 1)[0]
        context = {
            **self.each_context(request),
            "title": _("Set up your authenticator"),
            "qr_svg": mark_safe(qr_svg(device.config_url)),  # noqa: S308 - generated by qrcode
            "secret": secret,
            "form": form,
        }
        response = TemplateResponse(request, "staff/enroll.html", context)
        response["Cache-Control"] = "no-store"
        return response

    # --- Step-up ----------------------------------------------------------------------------

    def stepup_view(self, request: HttpRequest) -> HttpResponse:
        index = reverse("admin:index", current_app=self.name)
        form = StepUpForm(request.POST or None, user=request.user, request=request)
        if request.method == "POST" and form.is_valid():
            return HttpResponseRedirect(_safe_next(request, index))
        context = {
            **self.each_context(request),
            "title": _("Confirm with a one-time code"),
            "form": form,
            "next": _safe_next(request, index),
        }
        return TemplateResponse(request, "staff/stepup.html", context)
