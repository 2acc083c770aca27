"""Issue 14 item 10: a database outage answers 503, never an HTML 500, and writes nothing half-way.

The test runs its own PostgreSQL (a copy of the migrated test database in a private cluster on a
free port) and gunicorn with DEBUG off against it. Clients post complaints and read the portal,
the admin and the API while the test stops PostgreSQL for a few seconds and starts it again:
every answer during the outage is a 503 (on /api/ the contract's error body with
`Retry-After`, elsewhere the 503 page in the portal's or the admin's layout), none is a 500, and
afterwards the database holds exactly as many new complaints as there were 201s.

Also, without the slow stack: a database that refuses connections (a real closed port) gives the
same answers through Django's test client.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass

import psycopg
import pytest
import requests
from django.db import connection

from tests.hardening.stack import (
    Gunicorn,
    PrivatePostgres,
    django_run,
    dump_database,
    free_port,
    production_env,
)

OUTAGE_SECONDS = float(os.environ.get("DB_OUTAGE_SECONDS", "5"))

SEED = """
import json, django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from backoffice.roles import roles_sync
from bench import manager_session_cookie
from tests.factories import CreditAccountFactory, CustomerFactory, UserFactory

roles_sync()
user = UserFactory(username="outage-customer")
account = CreditAccountFactory(customer=CustomerFactory(user=user))
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "core.permissions.PermissionBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.save()
print(json.dumps({
    "account": account.pk,
    "customer_cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
    "manager_cookie": manager_session_cookie(),
}))
"""


@dataclass
class Answer:
    at: float
    kind: str  # "post", "portal", "admin", "api"
    status: int  # 0: no HTTP answer at all
    content_type: str
    body: bytes
    retry_after: str | None


def _complaints(url: str) -> int:
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM complaints_complaint").fetchone()[0]


@pytest.fixture
def outage_stack(db, tmp_path, redis_url):
    """The migrated test database (what pg_dump sees of it: no test transaction's rows) copied
    into a private cluster, seeded, and served by gunicorn with DEBUG off."""
    import redis

    dump = dump_database(connection.settings_dict, tmp_path / "test-db.dump")
    pg = PrivatePostgres()
    try:
        pg.start()
        pg.restore("app", dump)
        redis.Redis.from_url(redis_url).flushdb()
        env = production_env(
            DATABASE_URL=pg.url("app"),
            CACHE_URL=redis_url,
            CELERY_BROKER_URL="memory://",
            VAR_DIR=str(tmp_path / "var"),
            API_THROTTLE_USER="100000/min",
            API_THROTTLE_ANON="100000/min",
        )
        seed = json.loads(django_run(env, "-c", SEED).strip().splitlines()[-1])
        server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2)
        try:
            yield pg, server, seed
        finally:
            server.stop()
    finally:
        pg.destroy()


def _token(base: str) -> str:
    response = requests.post(
        f"{base}/api/v1/auth/token/",
        json={"username": "outage-customer", "password": "test-pass-123"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.mark.slow
@pytest.mark.timeout(600)  # the setup copies a database and starts gunicorn on a busy machine
def test_database_outage_answers_503_and_loses_nothing(outage_stack):
    pg, server, seed = outage_stack
    base = server.base
    token = _token(base)
    before = _complaints(pg.url("app"))
    answers: list[Answer] = []
    lock = threading.Lock()
    stop = threading.Event()

    def record(kind: str, call) -> None:
        at = time.monotonic()
        try:
            response = call()
            answer = Answer(
                at,
                kind,
                response.status_code,
                response.headers.get("Content-Type", ""),
                response.content,
                response.headers.get("Retry-After"),
            )
        except requests.RequestException as exc:
            answer = Answer(at, kind, 0, "", str(exc).encode(), None)
        with lock:
            answers.append(answer)

    def poster(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        i = 0
        while not stop.is_set():
            i += 1
            body = {
                "category": "billing",
                "account": seed["account"],
                "description": f"Outage test {n}-{i}: the fee was charged twice.",
            }
            record(
                "post",
                lambda body=body: session.post(f"{base}/api/v1/complaints/", json=body, timeout=15),
            )

    def reader() -> None:
        session = requests.Session()
        pages = [
            ("portal", f"{base}/portal/", {"Cookie": seed["customer_cookie"]}),
            ("portal", f"{base}/portal/?lang=en", {"Cookie": seed["customer_cookie"]}),
            ("admin", f"{base}/admin/", {"Cookie": seed["manager_cookie"]}),
            ("api", f"{base}/api/v1/accounts/", {"Authorization": f"Token {token}"}),
        ]
        while not stop.is_set():
            for kind, url, headers in pages:
                record(kind, lambda: session.get(url, headers=headers, timeout=15))  # noqa: B023

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(3)]
    threads.append(threading.Thread(target=reader))
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        pg.stop()
        down_from = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        down_until = time.monotonic()
        pg.start()
        up_at = time.monotonic()
        deadline = up_at + 20
        while time.monotonic() < deadline:  # until both posts and pages work again
            with lock:
                recovered = {a.kind for a in answers if a.at > up_at + 1 and a.status in (200, 201)}
            if recovered >= {"post", "portal", "admin", "api"}:
                break
            time.sleep(0.3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    statuses = Counter((a.kind, a.status) for a in answers)
    print(f"answers by kind and status: {dict(statuses)}")
    assert not [a for a in answers if a.status == 0], "every request got an HTTP answer"
    assert not [a for a in answers if a.status >= 500 and a.status != 503], statuses
    assert {a.status for a in answers} <= {200, 201, 503}, statuses

    # The manager's pages that answered (before the outage or after it) are the signed-in
    # admin, not its sign-in page: a session the server cannot read would make the admin answer
    # without the database.
    signed_in = [a for a in answers if a.kind == "admin" and a.status == 200]
    assert signed_in and not [a for a in signed_in if b'id="login-form"' in a.body]

    during = [a for a in answers if down_from + 0.3 < a.at < down_until]
    assert {a.kind for a in during} == {"post", "portal", "admin", "api"}
    for answer in during:
        assert answer.status == 503, (answer.kind, answer.status, answer.body[:300])
        assert answer.retry_after and int(answer.retry_after) > 0
        if answer.kind in ("post", "api"):
            assert answer.content_type.startswith("application/json")
            assert json.loads(answer.body)["error"]["code"] == "unavailable"
        else:
            assert answer.content_type.startswith("text/html")
            page = answer.body.decode()
            assert 'data-testid="unavailable"' in page
            if answer.kind == "portal":
                assert "/static/portal/portal" in page  # the portal's own layout
            else:
                assert "/static/admin/css/base" in page  # the admin's
    languages = {
        '<html lang="en"' in a.body.decode()
        for a in during
        if a.kind == "portal" and a.status == 503
    }
    assert languages == {True, False}  # zh-hans by default, English after ?lang=en

    created = sum(1 for a in answers if a.kind == "post" and a.status == 201)
    assert any(a.kind == "post" and a.status == 201 and a.at > up_at for a in answers)
    assert _complaints(pg.url("app")) - before == created


# --- Without the slow stack: a database that refuses connections ------------------------------


@pytest.fixture
def database_refusing_connections(django_db_blocker):
    """The default connection pointed at a closed port (nothing listens there): every query
    raises OperationalError, as when PostgreSQL is down."""
    with django_db_blocker.unblock():
        connection.close()
        saved = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = str(free_port())
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict["PORT"] = saved


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/api/v1/accounts/", "api"),
        ("/api/v1/auth/token/", "api"),
        ("/portal/", "portal"),
        ("/portal/?lang=en", "portal"),
        ("/admin/", "admin"),
    ],
)
def test_a_refused_connection_answers_503(database_refusing_connections, client, path, kind):
    headers = {"HTTP_AUTHORIZATION": "Token abc"} if kind == "api" else {}
    client.raise_request_exception = False  # the answer, not the exception, is under test
    client.cookies["sessionid"] = "x" * 32  # a session to look up: the database is asked
    if path.endswith("token/"):
        response = client.post(
            path, {"username": "u", "password": "p"}, content_type="application/json"
        )
    else:
        response = client.get(path, **headers)
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    if kind == "api":
        assert response.json()["error"]["code"] == "unavailable"
    else:
        page = response.content.decode()
        assert 'data-testid="unavailable"' in page
        assert ('<html lang="en"' in page) == path.endswith("lang=en")
        layout = "/static/admin/css/base" if kind == "admin" else "/static/portal/portal"
        assert layout in page


def test_healthz_says_503_with_retry_after(database_refusing_connections, client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"
    assert int(response["Retry-After"]) > 0
