"""Portal forms of the accounts app."""

from __future__ import annotations

from django.contrib.auth.forms import AuthenticationForm
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
