"""Portal views: my complaints, new complaint (with GET prefill), complaint detail with the
conversation (the customer's messages and evidence), ask for a review, a file of the
conversation as a download."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import selectors as account_selectors
from core.errors import ApplicationError
from core.forms import form_add_application_error
from core.portal import customer_required, portal_form

from . import selectors, selectors_conversation, services
from .enums import TRANSITIONS, Channel, EventType, Status
from .forms import ComplaintForm, ReviewForm
from .forms_conversation import CustomerMessageForm
from .models import ConversationAttachment
from .services import conversation
from .services.intake import DISPUTABLE_LOAN_STATUSES

COMPLAINTS_PER_PAGE = 20
CONVERSATION_SHOWN = 100

# History reasons: stored as written here, in the catalogs through gettext_noop.
PORTAL_REASON = gettext_noop("Filed in the portal")
WITHDRAW_REASON = gettext_noop("Withdrawn by the customer")


@customer_required
@portal_form("complaint")
def complaint_new(request: HttpRequest) -> HttpResponse:
    accounts = account_selectors.accounts_for_user(user=request.user)
    # Only records that can still be disputed are offered: a disputed or reversed one is
    # already on a complaint (its row on the account page links to it), choosing it again
    # could only end in a form error.
    loans = (
        account_selectors.loans_for_user(user=request.user)
        .filter(status__in=DISPUTABLE_LOAN_STATUSES)
        .order_by("-created_at", "-id")
    )
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
                    # Sessions were revoked with the account freeze: a page says so in plain
                    # words and leads to a new password (accounts.views.account_secured).
                    return redirect(f"/portal/account-secured/?complaint={complaint.reference}")
                return redirect(f"/portal/complaints/{complaint.reference}/")
    else:
        initial = {}
        if request.GET.get("category"):
            initial["category"] = request.GET["category"]
        if request.GET.get("account"):
            initial["account"] = request.GET["account"]
        elif len(account_ids := list(accounts.values_list("pk", flat=True)[:2])) == 1:
            initial["account"] = account_ids[0]  # the customer's only account
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
    return _detail(request, complaint, can_review=can_review, form=form)


def _detail(
    request: HttpRequest,
    complaint,
    *,
    can_review: bool | None = None,
    form: ReviewForm | None = None,
    message_form: CustomerMessageForm | None = None,
    status: int = 200,
) -> HttpResponse:
    if can_review is None:
        can_review = services.review_can_request(complaint, now=timezone.now())
    can_write = complaint.status not in conversation.CUSTOMER_CLOSED_STATUSES
    # The latest CONVERSATION_SHOWN messages (the template shows them oldest first).
    messages_shown = list(
        selectors_conversation.conversation_messages(complaint=complaint)[:CONVERSATION_SHOWN]
    )
    # A staff answer is in the conversation: the timeline does not repeat it (an older message,
    # sent before the conversation existed, stays on the timeline).
    answered = {m.body for m in messages_shown if m.author_kind == "staff"}
    timeline = [
        e
        for e in complaint.visible_events
        if not (e.type == EventType.MESSAGE and e.text in answered)
    ]
    return render(
        request,
        "complaints/complaint_detail.html",
        {
            "complaint": complaint,
            "items": list(complaint.items.all()),
            "timeline": timeline,
            "reviews": list(complaint.reviews.all()),
            "can_review": can_review,
            "can_withdraw": Status.WITHDRAWN in TRANSITIONS[complaint.status],
            "review_deadline": services.review_until(complaint),
            "form": form or ReviewForm(),
            "conversation": messages_shown,
            "can_write": can_write,
            "message_form": message_form or CustomerMessageForm(),
        },
        status=status,
    )


@customer_required
def complaint_list(request: HttpRequest) -> HttpResponse:
    """The customer's own complaints, newest first, 20 a page (no COUNT(*))."""
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    page = min(page, 10_000)
    start = (page - 1) * COMPLAINTS_PER_PAGE
    rows = list(
        selectors.complaints_for_user(user=request.user).only(
            "reference", "category", "status", "received_at", "due_at", "decided_at"
        )[start : start + COMPLAINTS_PER_PAGE + 1]
    )
    return render(
        request,
        "complaints/complaint_list.html",
        {
            "complaints": rows[:COMPLAINTS_PER_PAGE],
            "page": page,
            "previous_page": page - 1 if page > 1 else None,
            "next_page": page + 1 if len(rows) > COMPLAINTS_PER_PAGE else None,
        },
    )


@customer_required
@portal_form("complaint_message")
def complaint_message(request: HttpRequest, reference: str) -> HttpResponse:
    """The customer writes on their case (POST from the case page): text and/or one file."""
    complaint = selectors.complaint_for_user(user=request.user, reference=reference)
    if request.method != "POST":
        return redirect(f"/portal/complaints/{complaint.reference}/#conversation")
    form = CustomerMessageForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            conversation.conversation_customer_write(
                complaint_id=complaint.pk,
                actor=request.user,
                body=form.cleaned_data.get("body") or "",
                files=[upload] if upload else [],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
            if not exc.fields:
                messages.error(request, exc.message)
        else:
            messages.success(request, _("Your message was sent."))
            return redirect(f"/portal/complaints/{complaint.reference}/#conversation")
    return _detail(request, complaint, message_form=form, status=400)


def attachment_download(attachment: ConversationAttachment) -> FileResponse:
    """A file of the conversation, as a download with its checked type (never rendered inline),
    under a sandboxing CSP - as appeal attachments are served (closures/views.py)."""
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.download_name,
        content_type=attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@customer_required
def complaint_attachment(request: HttpRequest, reference: str, attachment_id: int) -> FileResponse:
    attachment = selectors_conversation.conversation_attachment_for_user(
        user=request.user, reference=reference, attachment_id=attachment_id
    )
    return attachment_download(attachment)
