from tests.closures.conftest import agent, manager, reviewer, risk_officer  # noqa: F401
from tests.complaints.conftest import _roles  # noqa: E402, F401
