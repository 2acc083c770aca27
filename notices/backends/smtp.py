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
- A notice is one plain-text part with a handful of headers. Over SMTP it is written as bytes by
  `plain_text_bytes` (one encoded header instead of Django's eleven, the body as 8bit UTF-8 or
  base64 when a line is too long) and handed to the pooled connection's `sendmail`, which is
  what Django's backend does after building the same message through the `email` package's
  generator at several times the cost. Any other message takes Django's own path.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import os
import re
import smtplib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from email.header import Header
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.core.mail.message import sanitize_address
from django.core.signals import setting_changed

from . import OutcomeUnknown

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
# A pooled connection idle for longer than this is closed before the next send (servers drop
# idle clients after a while; a silently dropped one would cost a full timeout).
IDLE_SECONDS = 30.0


# A bare address of plain ASCII (no display name): what sanitize_address would return as it is.
_BARE_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


@functools.lru_cache(maxsize=64)
def _quoted_cached(address: str) -> str:
    return smtplib.quoteaddr(address)


def _quoted(address: str) -> str:
    """smtplib's `quoteaddr` (an envelope address in angle brackets), without its RFC 5322
    parser for a bare ASCII address (a sixth of a send's CPU) and cached for the sender."""
    if _BARE_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return _quoted_cached(address)


class _SubmissionTracking:
    """smtplib.SMTP mixin: remembers whether the DATA terminator went out, and turns a lost
    answer after it into OutcomeUnknown; MAIL and RCPT quote their address with `_quoted`."""

    _in_data = False
    submitted = False

    def mail(self, sender: str, options: Any = ()) -> tuple[int, bytes]:
        if any(option.lower() == "smtputf8" for option in options):
            return super().mail(sender, options)  # smtplib's own checks of the extension
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("mail", f"FROM:{_quoted(sender)}{optionlist}")
        return self.getreply()

    def rcpt(self, recip: str, options: Any = ()) -> tuple[int, bytes]:
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:{_quoted(recip)}{optionlist}")
        return self.getreply()

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


# RFC 5322's limit is 998 octets a line; longer lines go base64.
_MAX_LINE = 998


def _encoded_words(value: str) -> str:
    """RFC 2047 base64 encoded words of UTF-8 text, at most 39 bytes of text each (a 64-character
    word; with "Subject: " a line stays under 78), folded by CRLF and a space, never splitting a
    character: what `email.header.Header(value, "utf-8")` writes, at a fraction of its cost."""
    words, chunk = [], b""
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > 39:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def _header_value(value: str) -> str:
    """A header's value: as it is when ASCII on one short line, else RFC 2047-encoded and
    folded (what `email.header.Header` does for Django)."""
    if "\n" in value or "\r" in value:
        raise ValueError("a header value cannot contain a line break")
    if value.isascii():
        if len(value) <= 76:
            return value
        return Header(value, "us-ascii", maxlinelen=78).encode(linesep="\r\n")
    return _encoded_words(value)


def _is_plain(message: EmailMessage) -> bool:
    """One text/plain part, To only, no header of its own beyond Message-ID and Date."""
    return (
        type(message) is EmailMessage
        and not message.attachments
        and not message.cc
        and not message.bcc
        and not message.reply_to
        and message.content_subtype == "plain"
        and set(message.extra_headers) <= {"Message-ID", "Date"}
        and len(message.to) == 1
    )


@functools.lru_cache(maxsize=64)
def _sender(address: str, encoding: str) -> str:
    return sanitize_address(address, encoding)


def _recipient(address: str, encoding: str) -> str:
    if _BARE_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, encoding)


def plain_text_bytes(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """(envelope sender, recipients, the message as SMTP bytes) of a plain message (see the
    module docstring); the same headers and body as Django's `message().as_bytes()`."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    sender = _sender(message.from_email, encoding)
    to = _recipient(message.to[0], encoding)
    text = message.body.replace("\r\n", "\n").replace("\r", "\n")
    payload = text.encode("utf-8")
    if any(len(line) > _MAX_LINE for line in payload.split(b"\n")):
        crlf = payload.replace(b"\n", b"\r\n")  # as Django encodes it: CRLF inside base64
        transfer, body = "base64", base64.encodebytes(crlf).replace(b"\n", b"\r\n")
    else:
        transfer, body = "8bit", payload.replace(b"\n", b"\r\n")
    headers = [
        'Content-Type: text/plain; charset="utf-8"',
        "MIME-Version: 1.0",
        f"Content-Transfer-Encoding: {transfer}",
        f"Subject: {_header_value(message.subject)}",
        f"From: {sender}",
        f"To: {to}",
        f"Date: {message.extra_headers.get('Date') or formatdate(localtime=settings.EMAIL_USE_LOCALTIME)}",
        f"Message-ID: {_header_value(message.extra_headers['Message-ID'])}",
    ]
    return sender, [to], "\r\n".join(headers).encode("ascii") + b"\r\n\r\n" + body


def _send_once(message: EmailMessage) -> None:
    backend = _backend()
    if isinstance(backend, DjangoSmtpBackend):
        backend.open()  # opened here, so send_messages() leaves it open for the next one
        if _is_plain(message) and "Message-ID" in message.extra_headers:
            sender, recipients, raw = plain_text_bytes(message)
            backend.connection.sendmail(sender, recipients, raw)
            _pool.used_at = time.monotonic()
            return
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


_executor: tuple[int, int, ThreadPoolExecutor] | None = None
_executor_lock = threading.Lock()


def smtp_executor() -> ThreadPoolExecutor | None:
    """Threads of this worker process that send email concurrently, each over its own pooled
    connection (`NOTICES_SMTP_CONNECTIONS`, default 4): a send waits on four SMTP round trips, so
    one connection leaves the CPU idle. None when that is 1 or the backend is not SMTP (the
    file and memory backends of development and tests keep their order). Made per process: a
    prefork child never uses its parent's threads."""
    global _executor  # noqa: PLW0603 - one executor per process, made on first use
    size = int(getattr(settings, "NOTICES_SMTP_CONNECTIONS", 4))
    if size <= 1 or settings.EMAIL_BACKEND != DJANGO_SMTP:
        return None
    with _executor_lock:
        if _executor is None or _executor[:2] != (os.getpid(), size):
            _executor = (
                os.getpid(),
                size,
                ThreadPoolExecutor(max_workers=size, thread_name_prefix="smtp"),
            )
        return _executor[2]


def _clear(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith("EMAIL_"):
        pool_close()


setting_changed.connect(_clear)
