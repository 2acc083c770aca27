"""Issue 14 item 9: a PDF with active content (an action on opening, a script, a launch, an
embedded file) is refused at upload with a clear field error, however its names are spelt
(`#xx` escapes) or hidden (a compressed object stream); a plain PDF, a JPEG or a PNG passes."""

from __future__ import annotations

import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from closures import services
from closures.models import Appeal
from core.errors import ApplicationError
from core.uploads import pdf_active_content
from tests.factories import CreditAccountFactory
from tests.factories.closures import closed_by_risk

PAGES = (
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]%s>>endobj\n"
)


def pdf(catalog_extra: bytes = b"", page_extra: bytes = b"", body: bytes = b"") -> bytes:
    return (
        b"%PDF-1.7\n1 0 obj<</Type/Catalog/Pages 2 0 R" + catalog_extra + b">>endobj\n"
        + PAGES % page_extra
        + body
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )  # fmt: skip


def object_stream(content: bytes) -> bytes:
    data = zlib.compress(content)
    return (
        b"4 0 obj<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length %d>>stream\n" % len(data)
        + data
        + b"\nendstream\nendobj\n"
    )


ACTIVE = {
    "open_action_script": pdf(b"/OpenAction<</S/JavaScript/JS(app.alert(1))>>"),
    "document_javascript": pdf(b"/Names<</JavaScript 5 0 R>>"),
    "page_additional_action": pdf(page_extra=b"/AA<</O<</S/Launch/F(calc.exe)>>>>"),
    "launch_action": pdf(b"/OpenAction<</S/Launch/F(cmd.exe)>>"),
    "embedded_file": pdf(
        b"/Names<</EmbeddedFiles<</Names[(a.exe)6 0 R]>>>>",
        body=b"6 0 obj<</Type/EmbeddedFile/Length 0>>stream\n\nendstream\nendobj\n",
    ),  # fmt: skip
    "hex_escaped_name": pdf(b"/OpenAction<</S/J#61vaScript/J#53(app.alert(1))>>"),
    "hidden_in_an_object_stream": pdf(body=object_stream(b"5 0 <</S/JavaScript/JS(x)>>")),
    "encrypted": pdf(body=b"7 0 obj<</Filter/Standard/V 2>>endobj\n").replace(
        b"trailer<</Root 1 0 R", b"trailer<</Root 1 0 R/Encrypt 7 0 R"
    ),
}
PLAIN = pdf(body=object_stream(b"BT /F1 12 Tf (JSON and JavaScript are words) Tj ET"))


@pytest.mark.parametrize("name", sorted(ACTIVE))
def test_active_content_is_found(name):
    assert pdf_active_content(ACTIVE[name])


def test_a_plain_pdf_has_none():
    # Words in the page text are not names: only /Name tokens count.
    assert pdf_active_content(PLAIN) == []


def test_an_inflation_bomb_is_bounded():
    bomb = pdf(body=object_stream(b"\0" * (80 * 1024 * 1024)))
    assert len(bomb) < 200_000
    assert pdf_active_content(bomb) == []


@pytest.fixture
def appealable_closure(db, agent, reviewer, system_user):
    account = CreditAccountFactory(overdue_count=4)
    return closed_by_risk(account=account, proposer=agent, approver=reviewer, actor=system_user)


def _file(closure, content: bytes):
    return services.appeal_file(
        actor=closure.account.customer.user,
        closure_id=closure.pk,
        grounds="我一直按时还款",
        attachment=SimpleUploadedFile("evidence.pdf", content, "application/pdf"),
    )


@pytest.mark.parametrize("name", ["open_action_script", "embedded_file", "hex_escaped_name"])
def test_the_appeal_service_refuses_it_with_a_field_error(appealable_closure, name):
    with translation.override("en"), pytest.raises(ApplicationError) as raised:
        _file(appealable_closure, ACTIVE[name])
    assert raised.value.status == 400
    assert "scripts" in raised.value.fields["attachment"][0]
    assert not Appeal.objects.filter(closure=appealable_closure).exists()


def test_a_plain_pdf_is_filed(appealable_closure):
    appeal = _file(appealable_closure, PLAIN)
    assert appeal.attachment_content_type == "application/pdf"
    with appeal.attachment.open("rb") as handle:
        assert handle.read() == PLAIN


def test_the_api_answers_400_with_the_field(appealable_closure, token_client):
    client = token_client(appealable_closure.account.customer.user)
    response = client.post(
        "/api/v1/appeals/",
        {
            "closure": appealable_closure.pk,
            "grounds": "我一直按时还款",
            "attachment": SimpleUploadedFile(
                "e.pdf", ACTIVE["open_action_script"], "application/pdf"
            ),
        },
        format="multipart",
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "attachment" in error["fields"]
    assert not Appeal.objects.filter(closure=appealable_closure).exists()
