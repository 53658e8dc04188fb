"""The one clock: every reading of the current time in the product goes through `now()`.

Never the database's `now()`: tests pin this clock (time-machine moves `timezone.now`), and
`CLOCK_OFFSET_SECONDS` moves a whole deployment (web, workers, beat) for acceptance testing,
or the worker processes a test starts to the instant the test pinned.

With `TEST_CLOCK_ENABLED` (off unless set; never in production) an operator also moves it at
run time, as Stripe's test clocks do: `clock_advance` stores the offset in the database
(`telco.TestClock`), and every process reads it again at most `TEST_CLOCK_REFRESH_SECONDS`
after it changed, so web and workers agree within that.
"""

import logging
import time
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from telco.exceptions import DomainError

logger = logging.getLogger(__name__)

# This process's copy of the stored offset: (seconds, monotonic time it was read).
_stored = {"offset": 0.0, "read_at": None}


def now() -> datetime:
    """The current instant, UTC."""
    return timezone.now() + offset()


def offset() -> timedelta:
    """How far the product's clock is from the machine's (CLOCK_OFFSET_SECONDS and the test
    clock): what moves a time only the database can read, such as `clock_timestamp()`."""
    return timedelta(seconds=settings.CLOCK_OFFSET_SECONDS + moved_seconds())


def today() -> date:
    """Today's date in the operator's time zone (settings.TIME_ZONE)."""
    return timezone.localdate(now())


def moved_seconds() -> float:
    """How far the test clock has been moved (0 unless TEST_CLOCK_ENABLED)."""
    if not settings.TEST_CLOCK_ENABLED:
        return 0.0
    read_at = _stored["read_at"]
    if read_at is None or time.monotonic() - read_at > settings.TEST_CLOCK_REFRESH_SECONDS:
        _stored["offset"] = _read_offset(_stored["offset"])
        _stored["read_at"] = time.monotonic()
    return _stored["offset"]


def _read_offset(last_known: float) -> float:
    from telco.models import TestClock

    try:
        # A savepoint, so a failed read never breaks the caller's transaction.
        with transaction.atomic():
            row = TestClock.objects.filter(pk=1).values_list("offset_seconds", flat=True).first()
    except DatabaseError:  # not migrated yet, or the database is away: keep the last value
        logger.warning("test clock unreadable; keeping offset %s s", last_known)
        return last_known
    return row or 0.0


def clock_advance(*, seconds: float, by: str) -> datetime:
    """Move the test clock forward by `seconds` (never back: bills, periods and histories only
    go forward). Returns the new now()."""
    from telco.models import TestClock

    if not settings.TEST_CLOCK_ENABLED:
        raise DomainError("The test clock is off (TEST_CLOCK_ENABLED).", field="testClock")
    if seconds <= 0:
        raise DomainError("The clock only moves forward.", field="advanceBy")
    with transaction.atomic():
        clock, _ = TestClock.objects.select_for_update().get_or_create(pk=1)
        clock.offset_seconds += seconds
        clock.moved_at = timezone.now()
        clock.moved_by = by
        clock.save()
    _stored["read_at"] = None
    return now()


def clock_reset(*, by: str) -> datetime:
    """Back to real time (for a fresh test database: data dated in the moved future stays)."""
    from telco.models import TestClock

    TestClock.objects.update_or_create(
        pk=1, defaults={"offset_seconds": 0.0, "moved_at": timezone.now(), "moved_by": by}
    )
    _stored["read_at"] = None
    return now()


def clock_state() -> dict:
    """Where the test clock stands: now, the stored offset, who moved it last and when."""
    from telco.models import TestClock

    row = TestClock.objects.filter(pk=1).first()
    return {
        "now": now(),
        "offset_seconds": row.offset_seconds if row else 0.0,
        "moved_at": row.moved_at if row else None,
        "moved_by": row.moved_by if row else "",
    }
