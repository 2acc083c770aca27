"""Forms of the conversation on a case: the customer's message (portal), staff's message with a
canned reply (the case action `message`), and the canned replies' admin form."""

from __future__ import annotations

from django import forms
from django.forms.models import ModelChoiceIteratorValue
from django.utils.translation import gettext_lazy as _

from core.forms import reason_field

from .models import CannedReply, Complaint
from .selectors_conversation import canned_replies_for, canned_replies_offered
from .services.conversation import BODY_MAX_LENGTH, placeholders_fill, placeholders_unknown

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def _body_field(label, *, required: bool = False) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=BODY_MAX_LENGTH,
        error_messages={
            "max_length": _("At most %(limit_value)d characters (this text has %(show_value)d).")
        },
        widget=forms.Textarea(attrs={"rows": 5, "maxlength": BODY_MAX_LENGTH}),
    )


class CustomerMessageForm(forms.Form):
    body = _body_field(_("Your message"))
    file = forms.FileField(
        label=_("Add evidence (PDF, JPEG or PNG, at most 5 MB)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )

    def clean(self):
        data = super().clean()
        if not (data.get("body") or "").strip() and not data.get("file") and not self.errors:
            self.add_error("body", _("Write your message or add a file."))
        return data


class CannedReplySelect(forms.Select):
    """Each option carries its text, already filled in for the case (`data-text`), for
    complaints/static/complaints/canned_reply.js to copy into the message box."""

    def __init__(self, *args, texts: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.texts = texts or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        text = self.texts.get(str(value))
        if text is not None:
            option["attrs"]["data-text"] = text
        return option


class StaffMessageForm(forms.Form):
    canned_reply = forms.ModelChoiceField(
        label=_("Canned reply"),
        queryset=CannedReply.objects.none(),
        required=False,
        empty_label=_("— write your own —"),
        help_text=_(
            "In the customer's language. Picking one fills the message box; left empty, the "
            "canned reply is sent as it is."
        ),
    )
    text = _body_field(_("Message to the customer"))

    class Media:
        js = ("complaints/canned_reply.js",)

    def __init__(self, *args, complaint: Complaint, **kwargs) -> None:
        # Its own ids: the case page shows this form beside the note form (also a `text`).
        kwargs.setdefault("auto_id", "id_message_%s")
        super().__init__(*args, **kwargs)
        language = complaint.customer.preferred_language
        field = self.fields["canned_reply"]
        # The replies read once (from the shared cache, else one query) give the options and
        # their texts (the field's own choices would read them again, through a server-side
        # cursor); a posted choice is still checked against the database by the field.
        field.queryset = canned_replies_for(language=language)
        replies = canned_replies_offered(language=language)
        field.widget = CannedReplySelect(
            texts={str(r.pk): placeholders_fill(r.body, complaint) for r in replies},
            attrs={"data-canned-reply": "1"},
        )
        field.widget.choices = [
            ("", field.empty_label),
            *((ModelChoiceIteratorValue(r.pk, r), field.label_from_instance(r)) for r in replies),
        ]
        self.fields["text"].widget.attrs["data-canned-target"] = "1"

    def clean(self):
        data = super().clean()
        if (
            not (data.get("text") or "").strip()
            and not data.get("canned_reply")
            and not self.errors
        ):
            self.add_error("text", _("Write the message or pick a canned reply."))
        return data


class CannedReplyAdminForm(forms.ModelForm):
    reason = reason_field(label=_("Why this change?"))

    class Meta:
        model = CannedReply
        fields = ("title", "language", "body", "active")
        help_texts = {
            "body": _(
                "Placeholders filled in for each case: {customer_name}, {reference}, {deadline}."
            ),
        }
        widgets = {"body": forms.Textarea(attrs={"rows": 8, "maxlength": BODY_MAX_LENGTH})}

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body") or ""
        unknown = placeholders_unknown(body)
        if unknown:
            raise forms.ValidationError(
                _(
                    "Unknown placeholder(s): %(names)s. Use {customer_name}, {reference} or {deadline}."
                ),
                params={"names": ", ".join("{" + n + "}" for n in unknown)},
            )
        return body
