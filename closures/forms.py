"""Portal forms of closures and appeals (input only; the rules live in the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .enums import OtpChannel


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


class ClosureConfirmForm(forms.Form):
    otp = forms.CharField(
        label=_("One-time code"),
        min_length=6,
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )


class AppealForm(forms.Form):
    grounds = forms.CharField(
        label=_("Why should the closure be reversed?"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    attachment = forms.FileField(
        label=_("Supporting document (PDF, JPEG or PNG, at most 5 MB)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}),
    )
