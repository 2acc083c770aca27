"""Customer portal pages of the accounts app: sign-in, sign-out, accounts, one account's loans,
the password pages (change, reset by one-time code) and the page after "my account may be
compromised".

Thin: every page goes through `core.portal.customer_required` and the access-scoped
selectors (another customer's account answers 404)."""

from __future__ import annotations

import re
import time

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.contrib.auth.views import LoginView
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.paging import keyset_page
from core.portal import customer_required, portal_form
from core.ratelimit import rate_limited

from . import selectors
from .enums import AccountStatus
from .forms import (
    CustomerLoginForm,
    PasswordResetCodeForm,
    PasswordResetRequestForm,
    PortalPasswordChangeForm,
)
from .models import CreditAccount
from .services import passwords

LOANS_PER_PAGE = 20


def with_latest_closure(queryset: QuerySet[CreditAccount]) -> QuerySet[CreditAccount]:
    """Annotate `closure_id`: the id of the account's latest closure request, or None (one
    subquery, no extra query per row). The closures app is always installed; its model is
    looked up by name because accounts imports nothing above it."""
    closure_model = apps.get_model("closures", "ClosureRequest")
    latest = closure_model.objects.filter(account=OuterRef("pk")).order_by("-pk").values("pk")[:1]
    return queryset.annotate(closure_id=Subquery(latest))


@method_decorator(rate_limited("login"), name="dispatch")
class PortalLoginView(LoginView):
    template_name = "portal/login.html"
    authentication_form = CustomerLoginForm
    next_page = reverse_lazy("portal:accounts")
    redirect_authenticated_user = False


@require_http_methods(["GET", "POST"])
def portal_logout(request: HttpRequest) -> HttpResponse:
    """POST signs out (CSRF-protected); GET shows a confirmation button."""
    if request.method == "POST":
        logout(request)
        return redirect("portal:login")
    return render(request, "portal/logout.html")


def with_complaint_reference(queryset: QuerySet) -> QuerySet:
    """Annotate `complaint_reference`: the reference of the newest complaint that disputes the
    loan record, or None (one subquery, no extra query per row), so a disputed or reversed
    record links to its complaint instead of offering a second dispute. Looked up by name, as
    above: accounts imports nothing of complaints."""
    item_model = apps.get_model("complaints", "DisputedItem")
    newest = (
        item_model.objects.filter(loan=OuterRef("pk"))
        .order_by("-complaint_id")
        .values("complaint__reference")[:1]
    )
    return queryset.annotate(complaint_reference=Subquery(newest))


@customer_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = with_latest_closure(selectors.accounts_for_user(user=request.user))
    return render(request, "portal/account_list.html", {"accounts": list(accounts)})


@customer_required
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = get_object_or_404(
        with_latest_closure(selectors.accounts_for_user(user=request.user)), pk=account_id
    )
    page = keyset_page(
        with_complaint_reference(selectors.loans_for_account(account=account)),
        older=request.GET.get("older"),
        newer=request.GET.get("newer"),
        size=LOANS_PER_PAGE,
    )
    context = {
        "account": account,
        "page": page,
        "can_close": account.status == AccountStatus.ACTIVE,
        "can_appeal": account.status in (AccountStatus.CLOSING, AccountStatus.CLOSED)
        and account.closure_id is not None,
        "credits": selectors.credits_for_account(account=account),
    }
    return render(request, "portal/account_detail.html", context)


# --- Passwords and the compromised account (issue 13 item 12) ----------------------------------

RESET_SESSION_KEY = "password_reset"
_REFERENCE = re.compile(r"^[A-Z0-9-]{4,32}$")


def account_secured(request: HttpRequest) -> HttpResponse:
    """Where "my account may be compromised" lands: the complaint froze the account and signed
    out every session, this one included. Says so in plain words and leads to a new password.
    Anyone may open it (the visitor is signed out); it shows nothing but the reference passed."""
    reference = request.GET.get("complaint", "").strip().upper()
    return render(
        request,
        "portal/account_secured.html",
        {"reference": reference if _REFERENCE.match(reference) else ""},
    )


@customer_required
@portal_form("password_change")
def password_change(request: HttpRequest) -> HttpResponse:
    form = PortalPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        passwords.password_change(
            user=request.user,
            actor=request.user,
            reason=passwords.CHANGED_REASON,
            new_password=form.cleaned_data["new_password1"],
        )
        update_session_auth_hash(request, request.user)  # this session stays signed in
        messages.success(
            request,
            _("Your password was changed. Every other session and app sign-in was signed out."),
        )
        return redirect("portal:accounts")
    return render(request, "portal/password_change.html", {"form": form})


def _answer_no_sooner_than(started: float) -> None:
    """Pad the answer to PASSWORD_RESET_MIN_SECONDS: a known and an unknown identity take the
    same time (sending a code writes rows; a name that matches nobody writes none)."""
    left = settings.PASSWORD_RESET_MIN_SECONDS - (time.monotonic() - started)
    if left > 0:
        time.sleep(left)


@rate_limited("password_reset")
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Step 1: a username, mobile number or email address. The answer is the same whether or
    not it names a customer (no account enumeration)."""
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        started = time.monotonic()
        identifier = form.cleaned_data["username"]
        ticket = passwords.password_reset_request(identifier=identifier)
        request.session[RESET_SESSION_KEY] = {"ticket": ticket, "username": identifier}
        _answer_no_sooner_than(started)
        return redirect("portal:password-reset-code")
    return render(request, "portal/password_reset.html", {"form": form})


@rate_limited("password_reset")
@require_http_methods(["GET", "POST"])
def password_reset_code(request: HttpRequest) -> HttpResponse:
    """Step 2: the code and the new password twice."""
    pending = request.session.get(RESET_SESSION_KEY)
    if not isinstance(pending, dict) or "ticket" not in pending:
        return redirect("portal:password-reset")
    form = PasswordResetCodeForm(request.POST or None)
    ask_again = False
    if request.method == "POST" and form.is_valid():
        try:
            passwords.password_reset_confirm(
                ticket=pending["ticket"],
                code=form.cleaned_data["code"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            ask_again = exc.code in ("password_reset_expired", "password_reset_too_many")
            if ask_again:
                request.session.pop(RESET_SESSION_KEY, None)
        else:
            request.session.pop(RESET_SESSION_KEY, None)
            messages.success(
                request, _("Your password was changed. Sign in with your new password.")
            )
            return redirect("portal:login")
    return render(
        request,
        "portal/password_reset_code.html",
        {"form": form, "username": pending.get("username", ""), "ask_again": ask_again},
    )
