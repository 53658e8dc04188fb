"""The billing tests' clock.

Their data are laid out on fixed dates (products from September 2026, bill runs as of
November 2026, due dates passed or not), so each test runs with the clock pinned just after
them (ticking on, so waits still end): none depends on the real date, nor on the instant
TEST_CLOCK_AT starts a session at. A test that derives its expectations from the clock instead
is marked `any_date` and runs at whatever instant the clock says (TEST_CLOCK_AT moves it), as
does a test with a real Celery worker, whose clock follows the session's, not a test's; tests
of given instants travel there themselves.
"""

from datetime import UTC, datetime

import pytest
import time_machine

PINNED_AT = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "any_date: the test derives its expectations from the clock, left unpinned"
    )


@pytest.fixture(autouse=True)
def billing_clock(request):
    """The clock at PINNED_AT for the test (not for an `any_date` or real-worker one)."""
    if request.node.get_closest_marker("any_date") or "celery_worker" in request.fixturenames:
        yield None
        return
    with time_machine.travel(PINNED_AT, tick=True) as traveller:
        yield traveller
