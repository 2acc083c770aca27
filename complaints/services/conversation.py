"""The conversation on a case (issue 13 item 9): the customer replies and adds evidence, staff
answer; and the canned replies staff pick from (item 6).

Messages and their files are append-only (database triggers); each write is one transaction
with the complaint locked first, its history row (who and why) and its activity-trail row
(`save_with_history`), and the other side's notice in the outbox:
- staff answer -> the customer's `complaint.message` notice (portal inbox and email), plus the
  case event "message to the customer" on the staff timeline;
- the customer writes -> `staff.complaint_customer_replied` to the assigned agent, or to every
  agent while nobody has the case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from core import roles
from core.audit import save_with_history
from core.errors import ApplicationError, Forbidden
from core.uploads import EVIDENCE_MAX_BYTES, EVIDENCE_TYPES, upload_inspect

from .. import events
from ..enums import Status
from ..locks import complaint_for_update
from ..models import CannedReply, Complaint, ConversationAttachment, ConversationMessage
from ..selectors_conversation import canned_replies_forget
from .common import notify_customer, notify_staff, require_perm, stake_refuse

BODY_MAX_LENGTH = 4000
ATTACHMENT_MAX_BYTES = EVIDENCE_MAX_BYTES
ATTACHMENT_TYPES = EVIDENCE_TYPES
FILE_NAME_MAX = 200
# The customer may write while the case is not finished (after a decision too: a question about
# it); a closed or withdrawn case takes no more messages.
CUSTOMER_CLOSED_STATUSES = frozenset({Status.CLOSED, Status.WITHDRAWN})

PLACEHOLDERS = ("customer_name", "reference", "deadline")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")

# History reasons (stored as written, in the catalogs through gettext_noop).
CUSTOMER_REASON = gettext_noop("Message from the customer")
CUSTOMER_FILE_REASON = gettext_noop("Evidence added by the customer")
STAFF_REASON = gettext_noop("Message to the customer")

CUSTOMER_REPLIED_NOTICE = "staff.complaint_customer_replied"
STAFF_MESSAGE_NOTICE = "complaint.message"


# --- Checks --------------------------------------------------------------------------------------


def _invalid(field: str, message: str, *, code: str = "invalid", status: int = 400):
    return ApplicationError(message, code=code, status=status, fields={field: [message]})


def body_check(body: str, *, field: str = "body", required: bool = True) -> str:
    """The message text, stripped: at most BODY_MAX_LENGTH characters, no NUL byte."""
    text = (body or "").strip()
    if "\x00" in text:
        raise _invalid(field, _("The text contains a character that is not allowed (NUL)."))
    if len(text) > BODY_MAX_LENGTH:
        raise _invalid(
            field,
            _("At most %(max)d characters (this text has %(count)d).")
            % {"max": BODY_MAX_LENGTH, "count": len(text)},
        )
    if required and not text:
        raise _invalid(field, _("Write your message."))
    return text


def attachment_check(upload: UploadedFile, *, field: str = "file") -> str:
    """The file's type from its bytes (not its name): PDF, JPEG or PNG; 5 MB at most; a PDF
    without active content (core/uploads.py) - the same checks as an appeal's attachment."""
    mime, problem = upload_inspect(upload)
    if problem == "too_large":
        raise _invalid(field, _("The file is larger than 5 MB."), code="too_large", status=413)
    if problem == "type":
        raise _invalid(field, _("Only PDF, JPEG or PNG files."))
    if problem == "active":
        raise _invalid(
            field,
            _(
                "This PDF contains scripts, automatic actions, embedded files or encryption. "
                "Please send a plain PDF (print it to PDF again), or a JPEG or PNG."
            ),
        )
    return mime


def _file_name(upload: UploadedFile) -> str:
    """The customer's file name, for display only: no path, no control characters."""
    name = (upload.name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"<>')
    return name.strip()[:FILE_NAME_MAX] or "attachment"


def _customer_case_for_update(*, complaint_id: int, actor: User) -> Complaint:
    complaint = complaint_for_update(complaint_id=complaint_id, with_assignee=True)
    customer_user_id = complaint.customer.user_id
    if actor.is_staff or customer_user_id != actor.pk:
        raise Forbidden(_("You are not allowed to do this."), code="forbidden")
    if complaint.status in CUSTOMER_CLOSED_STATUSES:
        raise ApplicationError(
            _("This complaint is finished: it takes no more messages."), code="complaint_closed"
        )
    return complaint


def _notify_staff_of_reply(complaint: Complaint, message: ConversationMessage, actor: User):
    context = {
        "reference": complaint.reference,
        "due_at": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d %H:%M"),
        "has_files": bool(getattr(message, "_files_added", 0)),
    }
    key = f"msg{message.pk}"
    if complaint.assignee_id and complaint.assignee.is_active:
        return notify_staff(
            CUSTOMER_REPLIED_NOTICE,
            actor=actor,
            obj=complaint,
            user=complaint.assignee,
            key=key,
            **context,
        )
    return notify_staff(
        CUSTOMER_REPLIED_NOTICE, actor=actor, obj=complaint, role=roles.AGENT, key=key, **context
    )


def _attachment_save(
    message: ConversationMessage, upload: UploadedFile, mime: str, *, actor: User, reason: str
) -> ConversationAttachment:
    attachment = ConversationAttachment(
        message=message,
        content_type=mime,
        name=_file_name(upload),
        size=upload.size or 0,
    )
    attachment.file.save("upload", upload, save=False)
    save_with_history(attachment, actor=actor, reason=reason)
    return attachment


# --- The customer's side ---------------------------------------------------------------------------


@transaction.atomic
def conversation_customer_write(
    *, complaint_id: int, actor: User, body: str, files: Sequence[UploadedFile] = ()
) -> ConversationMessage:
    """The customer writes on their case: a text, a file (evidence), or both."""
    text = body_check(body, required=not files)
    checked = [(upload, attachment_check(upload)) for upload in files]
    complaint = _customer_case_for_update(complaint_id=complaint_id, actor=actor)
    reason = CUSTOMER_FILE_REASON if checked and not text else CUSTOMER_REASON
    message = ConversationMessage(
        complaint=complaint,
        author_kind=ConversationMessage.Author.CUSTOMER,
        author=actor,
        body=text,
    )
    save_with_history(message, actor=actor, reason=reason)
    for upload, mime in checked:
        _attachment_save(message, upload, mime, actor=actor, reason=reason)
    message._files_added = len(checked)  # noqa: SLF001 - read by the staff notice
    _notify_staff_of_reply(complaint, message, actor)
    return message


@transaction.atomic
def conversation_attachment_add(
    *, complaint_id: int, actor: User, upload: UploadedFile
) -> ConversationAttachment:
    """The customer adds one file to the conversation (the API's `attachments/`): a message of
    its own, with no text."""
    message = conversation_customer_write(
        complaint_id=complaint_id, actor=actor, body="", files=[upload]
    )
    return message.attachments.get()


# --- Staff's side --------------------------------------------------------------------------------


def canned_reply_values(complaint: Complaint) -> dict[str, str]:
    return {
        "customer_name": complaint.customer.name,
        "reference": complaint.reference,
        "deadline": timezone.localtime(complaint.due_at).strftime("%Y-%m-%d"),
    }


def placeholders_fill(text: str, complaint: Complaint) -> str:
    """`text` with {customer_name}, {reference} and {deadline} filled in for this case (other
    braces are left as written)."""
    values = canned_reply_values(complaint)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def placeholders_unknown(text: str) -> list[str]:
    return sorted({name for name in _PLACEHOLDER.findall(text) if name not in PLACEHOLDERS})


@transaction.atomic
def conversation_staff_reply(
    *,
    complaint_id: int,
    actor: User,
    body: str = "",
    canned_reply: CannedReply | None = None,
    reason: str = "",
) -> ConversationMessage:
    """Staff answer the customer: the text written, or else the canned reply picked, with its
    placeholders filled in for the case. Shown in the customer's conversation and sent to them."""
    require_perm(actor, "complaints.work_complaint")
    complaint = complaint_for_update(complaint_id=complaint_id)
    stake_refuse(complaint, actor=actor)
    text = (body or "").strip()
    if not text and canned_reply is not None:
        if not canned_reply.active:
            raise _invalid("canned_reply", _("This canned reply is no longer in use."))
        text = canned_reply.body
    text = body_check(placeholders_fill(text, complaint), field="text")
    message = ConversationMessage(
        complaint=complaint,
        author_kind=ConversationMessage.Author.STAFF,
        author=actor,
        body=text,
        canned_reply=canned_reply,
    )
    save_with_history(message, actor=actor, reason=reason.strip() or STAFF_REASON)
    events.complaint_message_event(complaint=complaint, actor=actor, text=text)
    notify_customer(
        complaint, STAFF_MESSAGE_NOTICE, actor=actor, key=f"msg{message.pk}", message=text
    )
    return message


# --- Canned replies (managers, in the admin) -------------------------------------------------------


@transaction.atomic
def canned_reply_save(*, reply: CannedReply, actor: User, reason: str) -> CannedReply:
    """Create or change a canned reply (retire it with `active=False`; never deleted)."""
    require_perm(
        actor, "complaints.change_cannedreply" if reply.pk else "complaints.add_cannedreply"
    )
    if not reason.strip():
        raise _invalid("reason", _("Give the reason."))
    unknown = placeholders_unknown(reply.body)
    if unknown:
        raise _invalid(
            "body",
            _("Unknown placeholder(s): %(names)s. Use {customer_name}, {reference} or {deadline}.")
            % {"names": ", ".join("{" + n + "}" for n in unknown)},
        )
    body_check(reply.body, field="body")
    save_with_history(reply, actor=actor, reason=reason.strip())
    transaction.on_commit(canned_replies_forget)  # the case pages offer it from now on
    return reply
