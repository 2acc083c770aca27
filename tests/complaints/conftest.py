import pytest


@pytest.fixture(autouse=True)
def _roles(request) -> None:
    """Role groups with the complaints permissions (post_migrate of `backoffice` runs before the
    complaints permissions exist, so sync again once they do)."""
    if (
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or any(m.name == "django_db" for m in request.node.iter_markers())
    ):
        request.getfixturevalue(
            "transactional_db" if "transactional_db" in request.fixturenames else "db"
        )
        from backoffice.roles import roles_sync

        roles_sync()


@pytest.fixture(autouse=True)
def _fast_hasher(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _media_url_for_live_server():
    """settings.MEDIA_URL is None (uploads are served only by views), but Django's live server
    wraps a media-files handler that calls urlparse(MEDIA_URL) and breaks on None. Give it a
    path nothing links to. (Reported to the lead: a tests/conftest.py-level fix helps all.)"""
    from django.test.utils import override_settings

    with override_settings(MEDIA_URL="/_media-not-served/"):
        yield
