"""The one clock: every reading of the current time in the product goes through `now()`.

Never the database's `now()`: tests pin this clock (time-machine moves `timezone.now`), and
`CLOCK_OFFSET_SECONDS` moves a whole deployment (web, workers, beat) for acceptance testing,
or the worker processes a test starts to the instant the test pinned.
"""

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    """The current instant, UTC."""
    return timezone.now() + timedelta(seconds=settings.CLOCK_OFFSET_SECONDS)


def today() -> date:
    """Today's date in the operator's time zone (settings.TIME_ZONE)."""
    return timezone.localdate(now())
