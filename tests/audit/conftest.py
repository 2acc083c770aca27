"""The audit tests sign staff in through the real login form (password + TOTP)."""

from tests.admin.conftest import make_staff, staff_client  # noqa: F401 - fixtures
