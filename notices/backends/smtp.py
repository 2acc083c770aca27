"""Email for the outbox: one pooled connection per worker process (thread), closed on any
error, and a clear line between "not sent" and "outcome unknown".

- `email_send(message)` sends over the pooled connection of Django's configured backend; for
  the SMTP backend that connection is opened once and reused by every notice the process sends
  (no TCP + EHLO + AUTH per message). Any error closes it; the next send opens a new one.
- A failure before the message was handed over completely (connect, MAIL, RCPT, a broken pipe
  while sending the body) is "not sent": retried. A stale pooled connection (the server closed
  it while idle) is retried once on a fresh connection at once, since nothing was handed over.
- A failure after the DATA terminator went out but before the server's answer (the connection
  dropped, a timeout) raises `OutcomeUnknown`: the message may well have been accepted.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
import time
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.core.signals import setting_changed

from . import OutcomeUnknown

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
# A pooled connection idle for longer than this is closed before the next send (servers drop
# idle clients after a while; a silently dropped one would cost a full timeout).
IDLE_SECONDS = 30.0


class _SubmissionTracking:
    """smtplib.SMTP mixin: remembers whether the DATA terminator went out, and turns a lost
    answer after it into OutcomeUnknown."""

    _in_data = False
    submitted = False

    def send(self, s: Any) -> None:
        super().send(s)
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.submitted = True

    def data(self, msg: Any) -> tuple[int, bytes]:
        self._in_data, self.submitted = True, False
        try:
            return super().data(msg)
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            if self.submitted and not isinstance(exc, smtplib.SMTPResponseException):
                raise OutcomeUnknown(
                    f"the SMTP server's answer after DATA was lost: {type(exc).__name__}: {exc}"
                ) from exc
            raise
        finally:
            self._in_data = False


class TrackingSMTP(_SubmissionTracking, smtplib.SMTP):
    pass


class TrackingSMTPSSL(_SubmissionTracking, smtplib.SMTP_SSL):
    pass


class NoticeSmtpBackend(DjangoSmtpBackend):
    """Django's SMTP backend over the tracking connection classes."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return TrackingSMTPSSL if self.use_ssl else TrackingSMTP


class _Pool(threading.local):
    backend: Any = None
    key: tuple = ()
    used_at: float = 0.0


_pool = _Pool()


def _settings_key() -> tuple:
    return (
        settings.EMAIL_BACKEND,
        getattr(settings, "EMAIL_HOST", ""),
        getattr(settings, "EMAIL_PORT", 0),
        getattr(settings, "EMAIL_HOST_USER", ""),
        getattr(settings, "EMAIL_USE_TLS", False),
        getattr(settings, "EMAIL_USE_SSL", False),
    )


def pool_close() -> None:
    """Close this process's (thread's) pooled connection, if any; never raises."""
    backend, _pool.backend = _pool.backend, None
    if backend is not None:
        with contextlib.suppress(Exception):  # a broken connection is simply dropped
            backend.close()


def _backend() -> Any:
    key = _settings_key()
    idle = time.monotonic() - _pool.used_at > IDLE_SECONDS
    if _pool.backend is not None and (_pool.key != key or idle):
        pool_close()
    if _pool.backend is None:
        if settings.EMAIL_BACKEND == DJANGO_SMTP:
            _pool.backend = NoticeSmtpBackend(fail_silently=False)
        else:  # file, console, locmem (development and tests): no connection to keep
            _pool.backend = get_connection(fail_silently=False)
        _pool.key = key
    return _pool.backend


def _send_once(message: EmailMessage) -> None:
    backend = _backend()
    if hasattr(backend, "open") and isinstance(backend, DjangoSmtpBackend):
        backend.open()  # opened here, so send_messages() leaves it open for the next one
    message.connection = backend
    message.send(fail_silently=False)
    _pool.used_at = time.monotonic()


def email_send(message: EmailMessage) -> None:
    """Send one message over the pooled connection (see the module docstring)."""
    reused = _pool.backend is not None and getattr(_pool.backend, "connection", None) is not None
    try:
        _send_once(message)
    except OutcomeUnknown:
        pool_close()
        raise
    except Exception as exc:
        pool_close()
        stale = isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError)
        if not (reused and stale):
            raise
        try:  # the pooled connection had gone away while idle: nothing was handed over
            _send_once(message)
        except Exception:
            pool_close()
            raise


def _clear(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("EMAIL_"):
        pool_close()


setting_changed.connect(_clear)
