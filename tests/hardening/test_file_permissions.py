"""Issue 14 item 9: uploaded files and the development mail and SMS files are written 0600 (their
folders 0700); an appeal's attachment is served only as a download, under a sandboxing
Content-Security-Policy. (A PDF with active content is refused at upload: test_pdf_active_content.)"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from closures import services
from notices.backends.sms import FileSmsBackend
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk

pytestmark = pytest.mark.django_db

# A plain one-page PDF.
PLAIN_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def world_readable_umask():
    """The usual 022 umask, under which open() makes 0644 files: the fix must not rely on it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def appeal_with_pdf(agent, reviewer, system_user, world_readable_umask):
    account = CreditAccountFactory(overdue_count=4)
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    return services.appeal_file(
        actor=account.customer.user,
        closure_id=closure.pk,
        grounds="我一直按时还款",
        attachment=SimpleUploadedFile("evidence.pdf", PLAIN_PDF, "application/pdf"),
    )


def test_an_uploaded_attachment_is_0600_in_a_0700_folder(appeal_with_pdf):
    path = appeal_with_pdf.attachment.path
    assert _mode(path) == 0o600
    assert _mode(os.path.dirname(path)) == 0o700


def test_the_attachment_is_a_sandboxed_download(appeal_with_pdf, client, login_as):
    appeal = appeal_with_pdf
    login_as(appeal.closure.account.customer.user)
    response = client.get(f"/portal/appeals/{appeal.reference}/attachment/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PLAIN_PDF
    assert response["Content-Disposition"].startswith("attachment;")
    policy = [part.strip() for part in response["Content-Security-Policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_development_sms_files_are_0600(settings, tmp_path, world_readable_umask):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    message_id = FileSmsBackend().send(to="13800138000", body="验证码 123456", reference="t")
    path = tmp_path / "sms" / f"{message_id}.json"
    assert "123456" in path.read_text(encoding="utf-8")
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "sms") == 0o700


def test_development_mail_files_are_0600(settings, tmp_path, world_readable_umask):
    from django.core.mail import get_connection, send_mail

    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    backend = get_connection("core.storage.PrivateFileEmailBackend")
    send_mail("Code", "Your code 654321", "desk@example.com", ["c@example.com"], connection=backend)
    (path,) = (tmp_path / "mail").iterdir()
    assert "654321" in path.read_text(encoding="utf-8")
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "mail") == 0o700


def test_without_email_url_mail_goes_to_the_private_file_backend():
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django;django.setup();from django.conf import settings;"
            "print(settings.EMAIL_BACKEND)",
        ],
        env={**env, "DJANGO_SETTINGS_MODULE": "backoffice.settings"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().splitlines()[-1] == "core.storage.PrivateFileEmailBackend"
