"""The admin's form for a policy closure campaign: the segment, the reason, both explanations.
Input only: `closures.services.campaigns.segment_clean` and `campaign_create` hold the rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.enums import LoanKind, RiskSignalKind
from core.forms import reason_field

from .enums import CampaignReason
from .services.campaigns import MAX_DAYS

HISTORY_REASON_LABEL = _("Reason (recorded in the history)")
_ANY = [("", _("Any"))]


class CampaignForm(forms.Form):
    title = forms.CharField(label=_("Title (for staff)"), max_length=200)
    closure_reason = forms.ChoiceField(label=_("Closure reason"), choices=CampaignReason.choices)
    loan_kind = forms.ChoiceField(
        label=_("Has a loan of kind"), choices=_ANY + list(LoanKind.choices), required=False
    )
    partner_interface = forms.CharField(
        label=_("Has a loan through the partner interface"), max_length=64, required=False
    )
    risk_signal_kind = forms.ChoiceField(
        label=_("Has an open risk signal of kind"),
        choices=_ANY + list(RiskSignalKind.choices),
        required=False,
    )
    overdue_min_days = forms.IntegerField(
        label=_("Overdue for at least (days)"), min_value=1, max_value=MAX_DAYS, required=False
    )
    overdue_min_amount = forms.DecimalField(
        label=_("Amount past due at least (yuan)"),
        min_value=0.01,
        max_digits=12,
        decimal_places=2,
        required=False,
    )
    account_age_min_days = forms.IntegerField(
        label=_("Account open for at least (days)"), min_value=0, max_value=MAX_DAYS, required=False
    )
    explanation_zh = forms.CharField(
        label=_("Explanation for the customer, in Chinese"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )
    explanation_en = forms.CharField(
        label=_("Explanation for the customer, in English"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "maxlength": 2000}),
    )
    reason = reason_field(label=HISTORY_REASON_LABEL)

    SEGMENT_FIELDS = (
        "loan_kind",
        "partner_interface",
        "risk_signal_kind",
        "overdue_min_days",
        "overdue_min_amount",
        "account_age_min_days",
    )

    def segment(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            name: (str(data[name]) if name == "overdue_min_amount" else data[name])
            for name in self.SEGMENT_FIELDS
            if data.get(name) not in (None, "")
        }


class CampaignStepForm(forms.Form):
    reason = reason_field(label=HISTORY_REASON_LABEL)
