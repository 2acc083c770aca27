"""The forms of the partner-interface register's admin pages (accounts/admin.py,
PartnerInterfaceAdmin). They only parse; accounts/services/partners.py checks and writes."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import reason_field

from .enums import LoanChannel, LoanKind, PartnerAuditResult
from .models import User


def _staff_choices() -> list[tuple[str, str]]:
    users = User.objects.filter(is_staff=True, is_active=True).order_by("username")
    return [("", "—"), *((str(u.pk), u.get_username()) for u in users)]


class InterfaceTermsForm(forms.Form):
    partner = forms.CharField(label=_("partner"), max_length=120)
    permitted_kinds = forms.MultipleChoiceField(
        label=_("permitted loan kinds"),
        choices=LoanKind.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    permitted_channels = forms.MultipleChoiceField(
        label=_("permitted channels"),
        choices=LoanChannel.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    max_amount = forms.DecimalField(
        label=_("maximum amount"), min_value=0.01, max_digits=14, decimal_places=2
    )
    owner = forms.TypedChoiceField(label=_("owner"), required=False, coerce=int, empty_value=None)
    contract_reference = forms.CharField(
        label=_("contract reference"), max_length=64, required=False
    )
    reason = reason_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = _staff_choices()

    def owner_user(self) -> User | None:
        owner_id = self.cleaned_data.get("owner")
        return User.objects.filter(pk=owner_id).first() if owner_id else None


class InterfaceRegisterForm(InterfaceTermsForm):
    code = forms.CharField(label=_("code"), max_length=64)
    field_order = ["code", "partner"]


class AuditForm(forms.Form):
    audited_on = forms.DateField(
        label=_("audit date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    result = forms.ChoiceField(label=_("result"), choices=PartnerAuditResult.choices)
    reason = reason_field(
        label=_("Audit note"), help_text=_("What was checked and what was found.")
    )


class ReasonForm(forms.Form):
    reason = reason_field()
