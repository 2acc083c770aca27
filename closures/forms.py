"""Forms of closures and appeals: the portal's (the customer's request, the code, an appeal) and
the admin's (a proposal, a decision with its reason). Input only: the rules live in the
services. Every reason is `core.forms.reason_field()` (at most REASON_MAX_LENGTH characters)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import reason_field

from .enums import STAFF_REASONS, AppealStatus, OtpChannel

HISTORY_REASON_LABEL = _("Reason (recorded in the history)")


# --- Portal ---------------------------------------------------------------------------------------


class ClosureRequestForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Send the code by"),
        choices=OtpChannel.choices,
        initial=OtpChannel.SMS,
        widget=forms.RadioSelect,
    )
    understood = forms.BooleanField(
        label=_(
            "I understand that money still owed stays payable on its schedule and that the "
            "account cannot be used for new loans."
        ),
        required=True,
    )


CODE_LENGTH_MESSAGE = _("The code has 6 digits.")


class ClosureConfirmForm(forms.Form):
    otp = forms.CharField(
        label=_("One-time code"),
        min_length=6,
        max_length=6,
        error_messages={
            "required": _("Enter the code we sent you."),
            "min_length": CODE_LENGTH_MESSAGE,
            "max_length": CODE_LENGTH_MESSAGE,
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )


class AppealForm(forms.Form):
    # The customer's grounds are a reason too: at most REASON_MAX_LENGTH characters.
    grounds = reason_field(label=_("Why should the closure be reversed?"), rows=6)
    attachment = forms.FileField(
        label=_("Supporting document (PDF, JPEG or PNG, at most 5 MB)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )


# --- Admin ----------------------------------------------------------------------------------------


class ReasonOnlyForm(forms.Form):
    reason = reason_field()


class ProposeForm(forms.Form):
    account = forms.IntegerField(label=_("Account id"))
    closure_reason = forms.ChoiceField(
        label=_("Closure reason"), choices=[(r.value, r.label) for r in STAFF_REASONS]
    )
    explanation = forms.CharField(
        label=_("Explanation for the customer (plain words)"),
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    internal_note = forms.CharField(
        label=_("Internal note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = reason_field(label=HISTORY_REASON_LABEL)


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(s.value, s.label) for s in (AppealStatus.UPHELD, AppealStatus.DISMISSED)],
        widget=forms.RadioSelect,
    )
    decision_text = forms.CharField(
        label=_("Decision and reasons, for the customer"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    reason = reason_field(label=HISTORY_REASON_LABEL)
