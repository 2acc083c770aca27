"""`/healthz`: 200 when the database and the broker answer, 503 when the broker does not."""

from __future__ import annotations

import pytest

from backoffice.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_url(monkeypatch):
    """Point the Celery app at a broker URL for the test. Celery reads CELERY_BROKER_URL from
    the environment before its configuration, so this needs no restart; monkeypatch restores."""

    def use(url: str) -> None:
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        assert celery_app.conf.broker_url == url

    return use


def test_healthy_with_database_and_redis(client, broker_url, redis_url):
    broker_url(redis_url)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response.headers["Cache-Control"]


def test_503_when_the_broker_is_unreachable(client, broker_url):
    broker_url("redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "ok", "broker": "unavailable"}
