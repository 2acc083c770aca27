"""Portal forms of the accounts app."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.password_validation import validate_password
from django.core.validators import MaxLengthValidator
from django.utils.translation import gettext_lazy as _

from core.net import login_refused_as_wrong


def credentials_bound(form: AuthenticationForm) -> None:
    """AuthenticationForm sets the username's max_length after the field is built, so no
    validator enforces it; an over-long name would reach django-axes, whose username column is
    255 characters (a database error, a 500). Enforce both lengths before authenticate() runs.
    Used by the portal and the staff admin sign-in forms."""
    form.fields["username"].validators.append(MaxLengthValidator(150))
    form.fields["password"].validators.append(MaxLengthValidator(128))


class CustomerLoginForm(AuthenticationForm):
    """The portal sign-in form (fields `username`, `password`). It authenticates through
    `authenticate(request, ...)`, so django-axes counts failures; staff members are refused
    here exactly like a wrong password (they sign in to /admin/ with a password and TOTP)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or password is not correct."),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})
        credentials_bound(self)

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.is_staff:
            # A staff password alone confirms nothing: the answer and the lockout count are
            # those of a wrong password.
            login_refused_as_wrong(self.request, username=user.get_username())
            raise self.get_invalid_login_error()


# --- Passwords (issue 13 item 12) ----------------------------------------------------------------

PASSWORD_MAX_LENGTH = 128
CODE_MESSAGE = _("Enter the 6-digit code we sent you.")


def _password_field(label, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=PASSWORD_MAX_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class PortalPasswordChangeForm(PasswordChangeForm):
    """Current password, then the new one twice, through Django's password validators."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": _("Your current password is not correct."),
        "password_mismatch": _("The two new passwords are not the same."),
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("old_password", "new_password1", "new_password2"):
            self.fields[name].validators.append(MaxLengthValidator(PASSWORD_MAX_LENGTH))
        self.fields["old_password"].label = _("Current password")
        self.fields["new_password1"].label = _("New password")
        self.fields["new_password2"].label = _("New password again")
        self.fields["new_password1"].help_text = _(
            "At least 8 characters, not only digits, not too common and not like your name."
        )


class PasswordResetRequestForm(forms.Form):
    # Named `username`: the rate limit counts per identity (core.ratelimit).
    username = forms.CharField(
        label=_("Username, mobile number or email address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


class PasswordResetCodeForm(forms.Form):
    code = forms.CharField(
        label=_("One-time code"),
        min_length=6,
        max_length=6,
        error_messages={
            "required": CODE_MESSAGE,
            "min_length": CODE_MESSAGE,
            "max_length": CODE_MESSAGE,
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )
    new_password1 = _password_field(_("New password"))
    new_password2 = _password_field(_("New password again"))

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code.isdigit():
            raise forms.ValidationError(CODE_MESSAGE)
        return code

    def clean(self):
        data = super().clean()
        first, second = data.get("new_password1"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two new passwords are not the same."))
        elif first:
            # Without the user (who is not known to this page): the same checks for anyone.
            try:
                validate_password(first)
            except forms.ValidationError as exc:
                self.add_error("new_password1", exc)
        return data
