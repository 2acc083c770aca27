"""Portal views: new complaint (with GET prefill), complaint detail, ask for a review."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import selectors as account_selectors
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.portal import customer_required, portal_form

from . import selectors, services
from .enums import TRANSITIONS, Channel, Status
from .forms import ComplaintForm, ReviewForm

# History reasons: stored as written here, in the catalogs through gettext_noop.
PORTAL_REASON = gettext_noop("Filed in the portal")
WITHDRAW_REASON = gettext_noop("Withdrawn by the customer")


@customer_required
@portal_form("complaint")
def complaint_new(request: HttpRequest) -> HttpResponse:
    accounts = account_selectors.accounts_for_user(user=request.user)
    loans = account_selectors.loans_for_user(user=request.user).order_by("-created_at", "-id")
    if request.method == "POST":
        form = ComplaintForm(request.POST, accounts=accounts, loans=loans)
        if form.is_valid():
            data = form.cleaned_data
            try:
                complaint = services.complaint_submit(
                    actor=request.user,
                    reason=PORTAL_REASON,
                    customer=request.customer,
                    category=data["category"],
                    description=data["description"],
                    channel=Channel.PORTAL,
                    account_id=data["account"].pk if data["account"] else None,
                    loan_record_ids=[loan.pk for loan in data["loan_records"]],
                    account_compromised=data["account_compromised"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Your complaint was received. Your reference is %(ref)s.")
                    % {"ref": complaint.reference},
                )
                if complaint.account_compromised:
                    # Sessions were revoked with the account freeze: sign in again.
                    return redirect(
                        f"/portal/login/?next=/portal/complaints/{complaint.reference}/"
                    )
                return redirect(f"/portal/complaints/{complaint.reference}/")
    else:
        initial = {}
        if request.GET.get("category"):
            initial["category"] = request.GET["category"]
        if request.GET.get("account"):
            initial["account"] = request.GET["account"]
        if request.GET.getlist("loan_records"):
            initial["loan_records"] = request.GET.getlist("loan_records")
        form = ComplaintForm(initial=initial, accounts=accounts, loans=loans)
    return render(request, "complaints/complaint_new.html", {"form": form})


@customer_required
@portal_form("complaint_post")
def complaint_detail(request: HttpRequest, reference: str) -> HttpResponse:
    complaint = selectors.complaint_for_user(user=request.user, reference=reference)
    can_review = services.review_can_request(complaint, now=timezone.now())
    form = ReviewForm()
    if request.method == "POST" and request.POST.get("withdraw"):
        try:
            services.complaint_withdraw(
                complaint_id=complaint.pk, actor=request.user, reason=WITHDRAW_REASON
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your complaint was withdrawn."))
        return redirect(f"/portal/complaints/{complaint.reference}/")
    if request.method == "POST" and "grounds" in request.POST:
        # The service answers a request the page no longer offers (the window closed, a
        # review exists) with its own reason.
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.review_request(
                    complaint_id=complaint.pk,
                    actor=request.user,
                    grounds=form.cleaned_data["grounds"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
                if not can_review:
                    messages.error(request, exc.message)
            else:
                messages.success(request, _("Your request for a review was received."))
                return redirect(f"/portal/complaints/{complaint.reference}/")
    return render(
        request,
        "complaints/complaint_detail.html",
        {
            "complaint": complaint,
            "items": list(complaint.items.all()),
            "timeline": complaint.visible_events,
            "reviews": list(complaint.reviews.all()),
            "can_review": can_review,
            "can_withdraw": Status.WITHDRAWN in TRANSITIONS[complaint.status],
            "review_deadline": services.review_until(complaint),
            "form": form,
        },
    )
