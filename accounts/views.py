"""Customer portal pages of the accounts app: sign-in, sign-out, accounts, one account's loans.

Thin: every page goes through `core.portal.customer_required` and the access-scoped
selectors (another customer's account answers 404)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import logout
from django.contrib.auth.views import LoginView
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods

from core.paging import keyset_page
from core.portal import customer_required
from core.ratelimit import rate_limited

from . import selectors
from .enums import AccountStatus
from .forms import CustomerLoginForm
from .models import CreditAccount

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
        selectors.loans_for_account(account=account),
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
