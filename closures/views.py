"""Portal pages of closures and appeals. Thin: parse, fetch through an access-scoped selector
(another customer's object is a 404), call one service, render."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.portal import customer_required

from . import selectors, services
from .enums import APPEALABLE_STATUSES, ClosureReason, ClosureStatus
from .forms import AppealForm, ClosureConfirmForm, ClosureRequestForm


@customer_required
def closure_request(request: HttpRequest, account_id: int) -> HttpResponse:
    account = account_selectors.account_for_user(user=request.user, account_id=account_id)
    pending = selectors.closure_open_for_account(account_id=account.pk)
    if pending is not None:
        return redirect("portal:closure", closure_id=pending.pk)
    form = ClosureRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            closure = services.closure_request_by_customer(
                actor=request.user, account_id=account.pk, channel=form.cleaned_data["channel"]
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.info(request, _("We have sent you a one-time code."))
            return redirect("portal:closure-confirm", closure_id=closure.pk)
    return render(request, "closures/close.html", {"account": account, "form": form})


@customer_required
def closure_confirm(request: HttpRequest, closure_id: int) -> HttpResponse:
    closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
    if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
        return redirect("portal:closure", closure_id=closure.pk)
    form = ClosureConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.closure_confirm(
                actor=request.user, closure_id=closure.pk, otp=form.cleaned_data["otp"]
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("Your request to close the account is confirmed."))
            return redirect("portal:closure", closure_id=closure.pk)
    return render(request, "closures/confirm.html", {"closure": closure, "form": form})


@customer_required
@require_POST
def closure_code_resend(request: HttpRequest, closure_id: int) -> HttpResponse:
    closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
    try:
        services.closure_code_resend(
            actor=request.user, closure_id=closure.pk, channel=request.POST.get("channel", "sms")
        )
        messages.info(request, _("We have sent you a new code."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("portal:closure-confirm", closure_id=closure.pk)


@customer_required
def closure_detail(request: HttpRequest, closure_id: int) -> HttpResponse:
    closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
    appeal = selectors.appeals_for_user(user=request.user).filter(closure=closure).first()
    context = {
        "closure": closure,
        "appeal": appeal,
        "can_withdraw": closure.reason == ClosureReason.CUSTOMER_REQUEST
        and closure.status in (ClosureStatus.AWAITING_CONFIRMATION, ClosureStatus.APPROVED),
        "can_appeal": appeal is None
        and closure.reason != ClosureReason.CUSTOMER_REQUEST
        and closure.status in APPEALABLE_STATUSES,
    }
    return render(request, "closures/detail.html", context)


@customer_required
@require_POST
def closure_withdraw(request: HttpRequest, closure_id: int) -> HttpResponse:
    closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
    try:
        services.closure_withdraw(
            actor=request.user, closure_id=closure.pk, reason="withdrawn by the customer"
        )
        messages.success(request, _("Your request is withdrawn."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("portal:closure", closure_id=closure.pk)


@customer_required
def appeal_new(request: HttpRequest) -> HttpResponse:
    try:
        closure_id = int(request.GET.get("closure", ""))
    except ValueError as exc:
        raise Http404 from exc
    closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
    existing = selectors.appeals_for_user(user=request.user).filter(closure=closure).first()
    if existing is not None:
        return redirect("portal:appeal", reference=existing.reference)
    form = AppealForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal = services.appeal_file(
                actor=request.user,
                closure_id=closure.pk,
                grounds=form.cleaned_data["grounds"],
                attachment=form.cleaned_data.get("attachment"),
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("Your appeal is filed."))
            return redirect("portal:appeal", reference=appeal.reference)
    return render(request, "closures/appeal_new.html", {"closure": closure, "form": form})


@customer_required
def appeal_detail(request: HttpRequest, reference: str) -> HttpResponse:
    appeal = selectors.appeal_for_user(user=request.user, reference=reference)
    return render(request, "closures/appeal_detail.html", {"appeal": appeal})


def attachment_response(appeal) -> FileResponse:
    """The appeal's attachment, as a download with its checked type (never rendered inline),
    under a sandboxing CSP (issue 14 item 9: PDFs with active content are accepted, but never
    served in a way that runs it)."""
    if not appeal.attachment:
        raise Http404
    extension = appeal.attachment.name.rsplit(".", 1)[-1]
    response = FileResponse(
        appeal.attachment.open("rb"),
        as_attachment=True,
        filename=f"{appeal.reference}.{extension}",
        content_type=appeal.attachment_content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    # Should a browser render it anyway (a PDF viewer, a "view" button), a sandbox with nothing
    # allowed: no script (a PDF's OpenAction), no same-origin access, no forms. The site-wide
    # policy (django-csp) leaves a header already set alone.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@customer_required
def appeal_attachment(request: HttpRequest, reference: str) -> FileResponse:
    appeal = selectors.appeal_for_user(user=request.user, reference=reference)
    return attachment_response(appeal)
