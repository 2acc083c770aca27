"""The lean SMTP path for notices (`plain_text_bytes`): what a receiving server parses is what
Django's own rendering of the same EmailMessage gives: subject, addresses, Message-ID, body,
Chinese text, lines longer than SMTP allows, lines that start with a dot."""

from __future__ import annotations

import email
import email.policy

import pytest
from django.core.mail import EmailMessage

from notices.backends.smtp import email_send, plain_text_bytes
from tests.notices.test_outcomes import smtp  # noqa: F401 - the real aiosmtpd fixture

CASES = [
    ("Your complaint C-1 was received", "Dear A,\nwe received it.\n"),
    (
        "您的投诉已受理：C-2026-000123，请在 15 日内查看处理结果并按需申请核查",
        "尊敬的客户：\n\n金额 ¥20,000.00\n",
    ),
    ("Short", "." + "\n.leading dot\n..two\n" + "x" * 1200 + "\nend"),
    ("A" * 120, "windows\r\nline\rendings\r\n"),
]


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def _message(subject: str, body: str, **kw) -> EmailMessage:
    return EmailMessage(
        subject=subject,
        body=body,
        from_email="京东客服 <service-desk@example.com>",
        to=["客户 <a@example.com>"],
        headers={"Message-ID": "<notice-7@example.com>"},
        **kw,
    )


@pytest.mark.parametrize(("subject", "body"), CASES)
def test_the_bytes_parse_as_djangos_rendering_does(subject, body):
    message = _message(subject, body)
    sender, recipients, raw = plain_text_bytes(message)
    ours, django = _parsed(raw), _parsed(message.message().as_bytes(linesep="\r\n"))
    for header in ("Subject", "From", "To", "Message-ID", "Content-Type", "MIME-Version"):
        assert str(ours[header]).strip() == str(django[header]).strip(), header
    assert ours.get_content() == django.get_content()
    assert sender.endswith("<service-desk@example.com>")
    assert len(recipients) == 1 and recipients[0].endswith("<a@example.com>")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_a_header_with_a_line_break_is_refused():
    with pytest.raises(ValueError):
        plain_text_bytes(_message("two\nlines", "body"))


@pytest.mark.django_db
def test_over_a_real_smtp_server_the_receiver_reads_the_same(smtp):  # noqa: F811
    for number, (subject, body) in enumerate(CASES):
        email_send(_message(subject, body))
        received = smtp.messages[number]
        expected = _parsed(_message(subject, body).message().as_bytes(linesep="\r\n"))
        assert str(received["Subject"]).strip() == str(expected["Subject"]).strip()
        assert received["Message-ID"] == "<notice-7@example.com>"
        assert received.get_content() == expected.get_content()


@pytest.mark.django_db
def test_any_other_message_takes_djangos_path(smtp):  # noqa: F811
    email_send(_message("with a copy", "body", cc=["b@example.com"]))
    (received,) = smtp.messages
    assert received["Cc"] == "b@example.com"
    assert received.get_content().strip() == "body"
