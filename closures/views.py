"""Portal pages of closures and appeals. Thin: parse, fetch through an access-scoped selector
(another customer's object is a 404), call one service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import selectors as account_selectors
from core.crypto import mask_phone
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.portal import customer_required, portal_form

from . import selectors, services
from .enums import APPEALABLE_STATUSES, ClosureReason, ClosureStatus, OtpChannel
from .forms import AppealForm, ClosureConfirmForm, ClosureRequestForm


def mask_email(address: str) -> str:
    """a***@example.com: the first character and the domain."""
    name, _at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


def code_destination(request: HttpRequest, closure) -> str:
    """Where the last code of `closure` went, masked (138****1234 or a***@example.com)."""
    if closure.code_channel == OtpChannel.EMAIL:
        return mask_email(request.user.email or "")
    return mask_phone(request.customer.phone or "")


@customer_required
@portal_form("closure_request")
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
    context = {
        "account": account,
        "form": form,
        "effective_if_today": services.customer_closure_effective_at(
            timezone.now(),
            notice_days=settings.CLOSURE_NOTICE_DAYS.get(ClosureReason.CUSTOMER_REQUEST, 0),
        ),
    }
    return render(request, "closures/close.html", context)


@customer_required
@portal_form("closure_confirm")
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
    if request.method == "POST":
        closure.refresh_from_db()  # the wrong try that reached the cap cancelled it
    if closure.status != ClosureStatus.AWAITING_CONFIRMATION:
        messages.error(request, form.errors.get("otp", [""])[0] or _("The request has ended."))
        return redirect("portal:closure", closure_id=closure.pk)
    context = {
        "closure": closure,
        "form": form,
        "destination": code_destination(request, closure),
        "minutes": settings.CLOSURE_OTP_VALIDITY // 60,
        "effective_if_confirmed": services.closure_effective_if_confirmed(closure),
        "sends_left": max(settings.CLOSURE_CODE_MAX_SENDS - closure.code_sends, 0),
    }
    return render(request, "closures/confirm.html", context)


@customer_required
@portal_form("closure_resend")
@require_POST
def closure_code_resend(request: HttpRequest, closure_id: int) -> HttpResponse:
    closure = selectors.closure_for_user(user=request.user, closure_id=closure_id)
    try:
        services.closure_code_resend(
            actor=request.user,
            closure_id=closure.pk,
            channel=request.POST.get("channel") or closure.code_channel or OtpChannel.SMS,
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
@portal_form("closure_withdraw")
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
@portal_form("appeal")
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


APPEALS_PER_PAGE = 20


@customer_required
def appeal_list(request: HttpRequest) -> HttpResponse:
    """The customer's own appeals, newest first, 20 a page (no COUNT(*))."""
    try:
        page = min(max(int(request.GET.get("page", "1")), 1), 10_000)
    except ValueError:
        page = 1
    start = (page - 1) * APPEALS_PER_PAGE
    rows = list(
        selectors.appeals_for_user(user=request.user)
        .select_related("closure__account")
        .order_by("-filed_at", "-pk")[start : start + APPEALS_PER_PAGE + 1]
    )
    context = {
        "appeals": rows[:APPEALS_PER_PAGE],
        "previous_page": page - 1 if page > 1 else None,
        "next_page": page + 1 if len(rows) > APPEALS_PER_PAGE else None,
    }
    return render(request, "closures/appeal_list.html", context)


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
