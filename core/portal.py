"""Shared helpers of the customer portal (used by the accounts, notices, complaints and closures
portal views).

Usage::

    from core.portal import customer_required, CustomerRequiredMixin

    @customer_required
    def complaint_new(request):
        customer = request.customer  # the signed-in user's accounts.Customer
        ...

    class AppealNewView(CustomerRequiredMixin, FormView): ...

Rules:
- anonymous visitor: redirect to `/portal/login/?next=<path>`;
- staff member (is_staff), or a login without a Customer row: 403 with the portal's
  "not a customer" page. Staff never see customer pages, even with a valid session; they use
  /admin/.
- otherwise `request.customer` is set and the view runs. Objects must still be fetched through
  access-scoped selectors (another customer's object answers 404).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

PORTAL_LOGIN_URL = "/portal/login/"


def portal_customer(request: HttpRequest):
    """The signed-in customer of this request, or None (anonymous, staff, no Customer row)."""
    user = request.user
    if not user.is_authenticated or user.is_staff or not user.is_active:
        return None
    cached = getattr(request, "_portal_customer", None)
    if cached is not None:
        return cached
    # The reverse one-to-one of accounts.Customer (core imports nothing of ours).
    try:
        customer = user.customer
    except ObjectDoesNotExist:
        customer = None
    request._portal_customer = customer  # type: ignore[attr-defined]
    return customer


def not_a_customer_response(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/not_customer.html",
        {"message": _("This page is for customers. Staff members use the back-office.")},
        status=403,
    )


def customer_refusal(request: HttpRequest) -> HttpResponse | None:
    """The response refusing this request, or None when a customer is signed in."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), PORTAL_LOGIN_URL)
    customer = portal_customer(request)
    if customer is None:
        return not_a_customer_response(request)
    request.customer = customer  # type: ignore[attr-defined]
    return None


def customer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorator for function views: only signed-in customers get through (see module doc)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = customer_refusal(request)
        if refusal is not None:
            return refusal
        return view(request, *args, **kwargs)

    return wrapper


class CustomerRequiredMixin:
    """Mixin for class-based views: same rules as `customer_required`. Put it first."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refusal = customer_refusal(request)
        if refusal is not None:
            return refusal
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
