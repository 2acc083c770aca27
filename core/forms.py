"""Form helpers shared by the admin and the portal of every app.

- `reason_field()`: the one reason field (required by default, at most REASON_MAX_LENGTH
  characters, NUL bytes refused by Django's own validator) - every "why" a person types.
- `form_add_application_error(form, exc)`: a service's `ApplicationError` shown on the form,
  field by field where the service named fields, else as a form-wide error.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .audit import REASON_MAX_LENGTH
from .errors import ApplicationError


def reason_field(
    *, required: bool = True, label: Any = None, help_text: Any = "", rows: int = 3
) -> forms.CharField:
    return forms.CharField(
        label=label if label is not None else _("Reason"),
        required=required,
        max_length=REASON_MAX_LENGTH,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "maxlength": REASON_MAX_LENGTH}),
    )


def form_add_application_error(form: forms.Form, exc: ApplicationError) -> None:
    if exc.fields:
        for field, errors in exc.fields.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        form.add_error(None, exc.message)
