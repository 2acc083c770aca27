"""Password validators of our own where Django's message is not translated.

Django 5.2 words the minimum-length error with `%d`, while its zh_Hans catalog still carries the
older `%(min_length)d` msgid: a zh-hans page showed "This password is too short..." in English
(issue 13 item 15). Same rule, our msgid (in our catalogs)."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short: use at least %(min_length)d character.",
            "This password is too short: use at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
