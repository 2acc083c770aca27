"""The staff-admin fixtures (real TOTP sign-in) for the accounts admin tests."""

from tests.admin.conftest import make_staff, staff_client  # noqa: F401 - fixtures
