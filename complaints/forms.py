"""Portal forms (fields fixed by CONTRACT.md) and the staff forms of the admin case actions
(complaints/case_actions.py). Every "why" a person types is `core.forms.reason_field()`:
at most 1,000 characters, a field error beyond."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import CreditAccount, LoanRecord
from core.forms import reason_field

from .enums import (
    Category,
    Channel,
    ItemOutcome,
    PauseReason,
    RegulatorReplyChannel,
    RegulatorSource,
    ReviewOutcome,
    RootCause,
)


class ComplaintForm(forms.Form):
    category = forms.ChoiceField(label=_("What is it about?"), choices=Category.choices)
    account = forms.ModelChoiceField(
        label=_("Account"), queryset=CreditAccount.objects.none(), required=False
    )
    loan_records = forms.ModelMultipleChoiceField(
        label=_("Loan records you did not make"),
        queryset=LoanRecord.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    description = forms.CharField(
        label=_("What happened?"), widget=forms.Textarea(attrs={"rows": 5}), max_length=4000
    )
    account_compromised = forms.BooleanField(
        label=_("My account may have been used by someone else (freeze it and sign me out)"),
        required=False,
    )

    def __init__(self, *args, accounts, loans, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        self.fields["account"].label_from_instance = lambda a: a.number_masked
        self.fields["loan_records"].queryset = loans
        self.fields["loan_records"].label_from_instance = (
            lambda loan: f"{timezone.localtime(loan.created_at):%Y-%m-%d %H:%M} {loan.reference} "
            f"{loan.merchant} ¥{loan.amount:,.2f}"
        )

    def clean(self):
        data = super().clean()
        account = data.get("account")
        loans = data.get("loan_records") or []
        if data.get("category") == Category.UNAUTHORIZED_LOAN and not loans:
            self.add_error("loan_records", _("Choose the loan records you did not make."))
        if loans and account is None:
            self.add_error("account", _("Choose the account."))
        if account is not None and any(loan.account_id != account.pk for loan in loans):
            self.add_error("loan_records", _("Choose loan records of this account."))
        return data


class ReviewForm(forms.Form):
    grounds = reason_field(label=_("Why should we look again?"), rows=4)


# --- Staff (admin) -----------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = reason_field()


class AssignForm(ReasonForm):
    assignee = forms.ModelChoiceField(label=_("Assignee"), queryset=None)

    def __init__(self, *args, staff_qs, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = staff_qs


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 4}))


class MessageForm(forms.Form):
    text = forms.CharField(
        label=_("Message to the customer"), widget=forms.Textarea(attrs={"rows": 4})
    )


class PauseForm(ReasonForm):
    pause_reason = forms.ChoiceField(label=_("Waiting for"), choices=PauseReason.choices)


class ExtensionDecisionForm(ReasonForm):
    approve = forms.BooleanField(label=_("Approve the extension to 60 days"), required=False)


class DecisionForm(forms.Form):
    decision_text = forms.CharField(
        label=_("What was verified, basis and reasons (sent to the customer)"),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    # No root cause is pre-selected: the agent picks one (an empty first choice, required).
    root_cause = forms.ChoiceField(
        label=_("Root cause"), choices=[("", _("— choose —")), *RootCause.choices]
    )
    outcome = forms.ChoiceField(
        label=_("Outcome (complaints without loan records)"),
        choices=[
            ("", "—"),
            ("upheld", _("Upheld")),
            ("partially_upheld", _("Partially upheld")),
            ("rejected", _("Rejected")),
        ],
        required=False,
    )
    compensation_amount = forms.DecimalField(
        label=_("Compensation (optional)"), required=False, min_value=0, decimal_places=2
    )
    compensation_reason = reason_field(required=False, label=_("Compensation reason"), rows=2)
    reason = reason_field(required=False, label=_("Internal reason"), rows=2)

    # The fields the case page lays out itself, beside each record (`item_rows`) or at the end.
    GENERAL_FIELDS = ("decision_text", "root_cause", "outcome")
    CLOSING_FIELDS = ("compensation_amount", "compensation_reason", "reason")

    def __init__(self, *args, items, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"item_{item.pk}_outcome"] = forms.ChoiceField(
                label=f"{item.loan.reference} ¥{item.loan.amount:,.2f}",
                choices=ItemOutcome.choices,
                widget=forms.RadioSelect,
            )
            self.fields[f"item_{item.pk}_reasons"] = reason_field(label=_("Reasons"), rows=2)
        if self.items:
            # With records, the outcome follows from theirs: the field would only confuse.
            del self.fields["outcome"]

    def item_rows(self) -> list[tuple[object, forms.BoundField, forms.BoundField]]:
        """(disputed item, its outcome field, its reasons field), in the records' order."""
        return [
            (item, self[f"item_{item.pk}_outcome"], self[f"item_{item.pk}_reasons"])
            for item in self.items
        ]

    def general_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.GENERAL_FIELDS if name in self.fields]

    def closing_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.CLOSING_FIELDS]


class ReviewDecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ReviewOutcome.choices)
    decision_text = forms.CharField(
        label=_("Decision (sent to the customer)"), widget=forms.Textarea(attrs={"rows": 5})
    )
    upheld_items = forms.MultipleChoiceField(
        label=_("Rejected records the review now upholds (reversed at once)"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    new_outcome = forms.ChoiceField(
        label=_("New outcome (complaints without loan records)"),
        choices=[
            ("", "—"),
            ("upheld", _("Upheld")),
            ("partially_upheld", _("Partially upheld")),
        ],
        required=False,
    )
    reason = reason_field(required=False, label=_("Internal reason"), rows=2)

    def __init__(self, *args, items=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["upheld_items"].choices = [
            (str(i.pk), f"{i.loan.reference} ¥{i.loan.amount}")
            for i in items
            if i.outcome == ItemOutcome.REJECTED
        ]


class StaffIntakeForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Received by"),
        choices=[
            (Channel.PHONE, Channel.PHONE.label),
            (Channel.LETTER, Channel.LETTER.label),
            (Channel.REGULATOR, Channel.REGULATOR.label),
        ],
    )
    account_number = forms.CharField(label=_("Account number"), max_length=20)
    category = forms.ChoiceField(label=_("Category"), choices=Category.choices)
    loan_references = forms.CharField(
        label=_("Loan record references (one per line)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    description = forms.CharField(label=_("What the customer said"), widget=forms.Textarea)
    account_compromised = forms.BooleanField(
        label=_("The customer says the account may be compromised"), required=False
    )
    # A regulator referral (channel "regulator"): who referred it, their number, their deadline.
    regulator_source = forms.ChoiceField(
        label=_("Referred by"),
        choices=[("", "—"), *RegulatorSource.choices],
        required=False,
    )
    referral_number = forms.CharField(label=_("Referral number"), max_length=64, required=False)
    regulator_due_at = forms.DateTimeField(
        label=_("The regulator's deadline (if shorter than ours)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )

    def clean(self):
        data = super().clean()
        if data.get("channel") == Channel.REGULATOR:
            if not data.get("regulator_source"):
                self.add_error("regulator_source", _("Choose who referred it."))
            if not (data.get("referral_number") or "").strip():
                self.add_error("referral_number", _("Give the regulator's referral number."))
        elif data.get("referral_number") or data.get("regulator_source"):
            self.add_error("channel", _("Only a regulator referral carries a referral number."))
        return data


class RegulatorReplyForm(ReasonForm):
    text = forms.CharField(
        label=_("The reply sent to the regulator"), widget=forms.Textarea(attrs={"rows": 5})
    )
    channel = forms.ChoiceField(label=_("Delivered by"), choices=RegulatorReplyChannel.choices)
    delivered_at = forms.DateTimeField(
        label=_("Delivered at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    proof = forms.CharField(
        label=_("Delivery proof (receipt or tracking number)"), max_length=120, required=False
    )
