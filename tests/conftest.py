"""Shared test fixtures. Tests run on PostgreSQL (DATABASE_URL); see the Makefile."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.core.cache import cache

# Playwright's sync API keeps an event loop running in the test thread, and Django refuses ORM
# calls when it sees one. Set before any browser or live server starts.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config) -> None:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        raise pytest.UsageError(
            "The suite runs on PostgreSQL: set DATABASE_URL=postgres://... (make test does)."
        )


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path, settings) -> None:
    """Mail, SMS and uploads of a test land in its own temporary folder."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.MEDIA_ROOT = str(tmp_path / "uploads")
    settings.CELERY_TASK_ALWAYS_EAGER = False
    # Logins in tests need not cost the real hasher's seconds on a 2-core machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def system_user(db):
    from core.audit import system_actor

    return system_actor("tests")


def pytest_collection_modifyitems(config, items) -> None:
    """Under `pytest -n 2 --dist loadgroup` (make test) the slow tests (browser, real worker,
    large data) run one after another on one process while the other takes the rest: they
    start servers and workers of their own and would only slow each other down."""
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("slow"))


@pytest.fixture
def redis_url(worker_id) -> str:
    """TEST_REDIS_URL; each xdist process on a database of its own (gw0 on the given number,
    gw1 on the next), since tests empty it and real workers consume from it."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    if not worker_id.startswith("gw"):
        return url
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + int(worker_id[2:])
    return urlunsplit(parts._replace(path=f"/{number % 16}"))


# --- Signed-in clients -----------------------------------------------------------------------

MODEL_BACKEND = "core.permissions.PermissionBackend"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and rate-limit counters live in the cache: start every test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def login_as(client):
    """Sign a user into the Django test client (axes needs a request, so no client.login)."""

    def _login(user):
        client.force_login(user, backend=MODEL_BACKEND)
        return client

    return _login


# --- Browser tests (Playwright driving Debian's chromium) ---------------------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def _playwright_browser():
    """One headless chromium for the session. Under CI a missing browser fails the run."""
    if not os.path.exists(CHROMIUM):
        message = f"chromium not found at {CHROMIUM}: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(_playwright_browser, live_server, request):
    """A fresh browser context on the live server; a screenshot is saved on failure under
    test-results/."""
    context = _playwright_browser.new_context(base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        out = settings.BASE_DIR / "test-results"
        out.mkdir(exist_ok=True)
        pg.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
