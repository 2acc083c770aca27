"""Issue 14 item 9: uploaded files and the development SMS files are written 0600 (their folders
0700); an appeal's attachment (a PDF with an OpenAction script is accepted) is served only as a
download, under a sandboxing Content-Security-Policy."""

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

# A PDF whose OpenAction runs JavaScript when a viewer opens it.
ACTIVE_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
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
def appeal_with_active_pdf(agent, reviewer, system_user, world_readable_umask):
    account = CreditAccountFactory(overdue_count=4)
    closure = closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)
    return services.appeal_file(
        actor=account.customer.user,
        closure_id=closure.pk,
        grounds="我一直按时还款",
        attachment=SimpleUploadedFile("evidence.pdf", ACTIVE_PDF, "application/pdf"),
    )


def test_an_uploaded_attachment_is_0600_in_a_0700_folder(appeal_with_active_pdf):
    path = appeal_with_active_pdf.attachment.path
    assert _mode(path) == 0o600
    assert _mode(os.path.dirname(path)) == 0o700


def test_the_attachment_is_a_sandboxed_download(appeal_with_active_pdf, client, login_as):
    appeal = appeal_with_active_pdf
    login_as(appeal.closure.account.customer.user)
    response = client.get(f"/portal/appeals/{appeal.reference}/attachment/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == ACTIVE_PDF
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
