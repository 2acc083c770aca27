"""The conversation through the API (CONTRACT.md): `GET`/`POST /api/v1/complaints/<reference>/
messages/` and `POST .../attachments/` (multipart `file`), the contract's error bodies, not yours
-> 404, Idempotency-Key, the schema."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from complaints.models import ConversationAttachment, ConversationMessage
from complaints.services import conversation
from notices.models import Notice
from tests.factories.complaints import account_with_loans, dispute, staff

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def case(system_user):
    account, loans = account_with_loans(actor=system_user)
    return dispute(account=account, loans=loans)


@pytest.fixture
def other_case(system_user):
    account, loans = account_with_loans(actor=system_user)
    return dispute(account=account, loans=loans)


def _url(complaint, tail="messages/"):
    return f"/api/v1/complaints/{complaint.reference}/{tail}"


def test_post_and_get_the_conversation(case, token_client, django_assert_max_num_queries):
    client = token_client(case.customer.user)
    resp = client.post(_url(case), {"body": "我想补充材料"}, format="json")
    assert resp.status_code == 201, resp.content
    assert resp.json()["author"] == "customer" and resp.json()["body"] == "我想补充材料"
    agent = staff("agent")
    conversation.conversation_staff_reply(complaint_id=case.pk, actor=agent, body="请上传流水")
    for i in range(27):
        conversation.conversation_customer_write(
            complaint_id=case.pk, actor=case.customer.user, body=f"m{i}"
        )
    with django_assert_max_num_queries(10):
        resp = client.get(_url(case))
    assert resp.status_code == 200
    data = resp.json()
    assert set(data) == {"next", "previous", "results"}
    assert len(data["results"]) == 25 and data["previous"] is None and data["next"]
    assert data["results"][0]["body"] == "m26"  # newest first
    assert set(data["results"][0]) == {"at", "author", "body", "attachments"}
    assert "+08:00" in data["results"][0]["at"] or "Z" in data["results"][0]["at"]
    rest = client.get(data["next"]).json()["results"]
    assert [m["body"] for m in rest[-2:]] == ["请上传流水", "我想补充材料"]
    assert rest[-2]["author"] == "staff"
    assert resp["Cache-Control"].startswith("no-store") or "no-store" in resp["Cache-Control"]


def test_attachments_upload_and_download(case, token_client):
    client = token_client(case.customer.user)
    resp = client.post(
        _url(case, "attachments/"),
        {"file": SimpleUploadedFile("账单.pdf", PDF, content_type="application/pdf")},
        format="multipart",
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["name"] == "账单.pdf"
    attachment = ConversationAttachment.objects.get()
    assert body["url"].endswith(f"/api/v1/complaints/{case.reference}/attachments/{attachment.pk}/")
    listed = client.get(_url(case)).json()["results"][0]
    assert listed["attachments"] == [body] and listed["body"] == ""
    download = client.get(body["url"])
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == PDF
    assert Notice.objects.filter(event="staff.complaint_customer_replied").exists()


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"MZ\x90\x00 not a document", 400, "invalid"),
        (PDF + b"0" * (5 * 1024 * 1024), 413, "too_large"),
        (b"%PDF-1.4\n<< /OpenAction << /S /JavaScript /JS (x) >> >>\n%%EOF", 400, "invalid"),
    ],
)
def test_bad_files_answer_the_contracts_error_body(case, token_client, content, status, code):
    client = token_client(case.customer.user)
    resp = client.post(
        _url(case, "attachments/"),
        {"file": SimpleUploadedFile("x.pdf", content)},
        format="multipart",
    )
    assert resp.status_code == status
    error = resp.json()["error"]
    assert error["code"] == code and error["fields"]["file"]
    assert not ConversationAttachment.objects.exists()


def test_missing_file_and_bad_bodies_are_400_never_500(case, token_client):
    client = token_client(case.customer.user)
    assert client.post(_url(case, "attachments/"), {}, format="multipart").status_code == 400
    for body in ({"body": "a\x00b"}, {"body": "x" * 4001}, {"body": ""}, {"text": "hi"}, {}):
        resp = client.post(_url(case), body, format="json")
        assert resp.status_code == 400, (body, resp.content)
        assert resp.json()["error"]["code"]
    assert not ConversationMessage.objects.exists()


def test_not_yours_is_404(case, other_case, token_client, system_user):
    theirs = conversation.conversation_customer_write(
        complaint_id=other_case.pk,
        actor=other_case.customer.user,
        body="",
        files=[SimpleUploadedFile("a.pdf", PDF)],
    )
    attachment = theirs.attachments.get()
    client = token_client(case.customer.user)
    assert client.get(_url(other_case)).status_code == 404
    assert client.post(_url(other_case), {"body": "hi"}, format="json").status_code == 404
    resp = client.post(
        _url(other_case, "attachments/"),
        {"file": SimpleUploadedFile("a.pdf", PDF)},
        format="multipart",
    )
    assert resp.status_code == 404
    assert client.get(_url(other_case, f"attachments/{attachment.pk}/")).status_code == 404
    assert client.get(_url(case, f"attachments/{attachment.pk}/")).status_code == 404
    assert ConversationMessage.objects.count() == 1


def test_idempotency_key_posts_once(case, token_client):
    client = token_client(case.customer.user)
    key = str(uuid.uuid4())
    first = client.post(_url(case), {"body": "只发一次"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post(_url(case), {"body": "只发一次"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert ConversationMessage.objects.count() == 1
    file_key = str(uuid.uuid4())
    for _ in range(2):
        resp = client.post(
            _url(case, "attachments/"),
            {"file": SimpleUploadedFile("a.pdf", PDF)},
            format="multipart",
            HTTP_IDEMPOTENCY_KEY=file_key,
        )
        assert resp.status_code == 201
    assert ConversationAttachment.objects.count() == 1


def test_documented_in_the_schema(client):
    from drf_spectacular.validation import validate_schema

    from tests.api.test_schema import _schema

    schema = _schema(client)
    validate_schema(schema)
    paths = schema["paths"]
    messages = paths["/api/v1/complaints/{reference}/messages/"]
    assert {"get", "post"} <= set(messages)
    listed = messages["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert "Paginated" in listed["$ref"]
    upload = paths["/api/v1/complaints/{reference}/attachments/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert {"201", "400", "404", "413"} <= set(upload["responses"])
