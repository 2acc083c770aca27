"""API tokens (django-rest-knox): only a SHA-512 digest of each token is stored, every token
expires, and any can be revoked.

- `token_issue(user=..., ttl=...)` -> (row, token): the token string exists only in the answer
  that hands it out (`POST /api/v1/auth/token/`, `manage.py create_service_user`).
- `token_revoke(token=...)`: one token (`POST /api/v1/auth/logout/`).
- `tokens_revoke(user=...)`: every token of a user: sign-out everywhere
  (`accounts.services.user_sessions_revoke`: "my account may be compromised", staff
  deactivation) and any change of the password hash, whatever the path (portal, admin, a
  `set_password()` in a command): `user_password_watch` / `user_password_changed`, connected
  for the user model in CoreConfig.ready().

Tokens are credentials, not domain data: a revoked or expired token's row is deleted (knox
deletes expired rows itself when one is presented). The callers that revoke on a person's
behalf record it in the activity trail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
from knox.models import AuthToken


class TokenAuthentication(KnoxTokenAuthentication):
    """`Authorization: Token <token>` against the stored digests (expired ones refused)."""


def token_issue(*, user: Any, ttl: timedelta | None = None) -> tuple[AuthToken, str]:
    """A new token for `user`, valid for `ttl` (default API_TOKEN_TTL)."""
    return AuthToken.objects.create(user=user, expiry=ttl or settings.API_TOKEN_TTL)


def token_revoke(*, token: AuthToken) -> None:
    AuthToken.objects.filter(pk=token.pk).delete()


def tokens_revoke(*, user: Any) -> int:
    """Revoke every API token of `user`; returns how many there were."""
    deleted, _by_model = AuthToken.objects.filter(user=user).delete()
    return deleted


def user_password_watch(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """pre_save of the user model: note whether this save changes the stored password hash."""
    instance._tokens_password_changed = False  # noqa: SLF001
    if raw or instance.pk is None:
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "password" not in update_fields:
        return
    stored = sender._default_manager.filter(pk=instance.pk).values_list("password", flat=True)
    before = stored.first()
    instance._tokens_password_changed = before is not None and before != instance.password  # noqa: SLF001


def user_password_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """post_save of the user model: a new password hash revokes every API token (same
    transaction as the save)."""
    if raw or not getattr(instance, "_tokens_password_changed", False):
        return
    instance._tokens_password_changed = False  # noqa: SLF001
    tokens_revoke(user=instance)
