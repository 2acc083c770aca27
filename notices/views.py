"""The customer's inbox in the portal (`/portal/messages/`): their notices, newest first."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from core.paging import keyset_page
from core.portal import customer_required

from .selectors import notices_for_customer

MESSAGES_PER_PAGE = 20


@customer_required
def message_list(request: HttpRequest) -> HttpResponse:
    page = keyset_page(
        notices_for_customer(request.user),
        older=request.GET.get("older"),
        newer=request.GET.get("newer"),
        size=MESSAGES_PER_PAGE,
    )
    return render(request, "portal/messages.html", {"page": page})
