import pytest

from backoffice.roles import roles_sync


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
        roles_sync()
