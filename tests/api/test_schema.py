"""The OpenAPI schema at /api/schema/ validates and documents our endpoints; docs are served."""

from __future__ import annotations

import pytest
import yaml

pytestmark = pytest.mark.django_db


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return (
        response.json() if "json" in response["Content-Type"] else yaml.safe_load(response.content)
    )


def test_schema_validates(client):
    from drf_spectacular.validation import validate_schema

    schema = _schema(client)
    validate_schema(schema)  # raises on an invalid document
    paths = schema["paths"]
    for path in (
        "/api/v1/auth/token/",
        "/api/v1/accounts/",
        "/api/v1/accounts/{account_id}/loans/",
        "/api/v1/messages/",
    ):
        assert path in paths, path


def test_docs_page_is_served(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
