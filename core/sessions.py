"""The session engine (SESSION_ENGINE): Django's cached_db, taking only keys it could have made.

Django accepts any cookie value of 8 characters or more as a session key and looks it up, in
the cache and then in PostgreSQL, which refuses a NUL byte in it (a 500 on every page, before
anyone signs in). Django's own keys are 32 lowercase letters and digits: anything else is no
session at all (the visitor is signed out), and is never looked up."""

from __future__ import annotations

import re

from django.contrib.sessions.backends.cached_db import SessionStore as CachedDbSessionStore

_KEY = re.compile(r"[a-z0-9]{32}")


class SessionStore(CachedDbSessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        return bool(key) and _KEY.fullmatch(key) is not None
