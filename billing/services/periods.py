"""Billing periods: which periods an account is billed for, and how much of one a product
was charged for (proration, suspensions, contract years)."""

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache

from django.db.models import Model

from inventory.choices import ProductStatus

# Statuses in which a product that has started is charged (until its termination_date).
BILLABLE_STATUSES = (
    ProductStatus.ACTIVE,
    ProductStatus.SUSPENDED,
    ProductStatus.PENDING_TERMINATE,
    ProductStatus.TERMINATED,
)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` `months` later (earlier when negative), on the same day of the month."""
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1)


def add_years(moment: datetime, years: int) -> datetime:
    """`moment` `years` later; 29 February becomes 28 February in a year without one."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@lru_cache(maxsize=4096)
def billing_period(*, bill_cycle_day: int, at: datetime) -> tuple[datetime, datetime]:
    """The half-open period [start, end) containing `at`; periods start on the cycle day, UTC.
    Cached: a bill run asks it again and again for the same few instants."""
    at = at.astimezone(UTC)
    start = datetime(at.year, at.month, bill_cycle_day, tzinfo=UTC)
    if at < start:
        start = add_months(start, -1)
    return start, add_months(start, 1)


def account_periods(
    *, bill_cycle_day: int, since: datetime, billed: list[tuple[datetime, datetime]], as_of: date
) -> list[tuple[datetime, datetime]]:
    """The periods [start, end) still to bill, in order: from the one `since` (the account's
    first product start) falls in, up to the last that ended on or before `as_of`.

    Periods run from one cycle day to the next. A billed period stays as it was billed, even
    on a former cycle day: the period after it starts where it ended and runs to the next
    cycle day, a short transition period (a day at the least; `rate_account_period` prorates
    it against the whole cycle period it lies in). So a change of cycle day never makes a
    period overlap a billed one, nor leaves a gap between them. A usage allowance applies
    whole to each bill period, a transition included, as it does to a product's first partial
    period.
    """
    billed = sorted(billed)
    start, _ = billing_period(bill_cycle_day=bill_cycle_day, at=since)
    if billed:
        start = min(start, billed[0][0])
    periods = []
    index = 0  # the first billed period that ends after `start`
    while True:
        while index < len(billed) and billed[index][1] <= start:
            index += 1
        if index < len(billed) and billed[index][0] <= start:
            start = billed[index][1]
            continue
        _, end = billing_period(bill_cycle_day=bill_cycle_day, at=start)
        if index < len(billed):
            end = min(end, billed[index][0])
        if end.date() > as_of:
            return periods
        if end > since:  # nothing can be charged before the first product started
            periods.append((start, end))
        start = end


def billable_interval(
    product: Model, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    """The part of [start, end) in which the product (inventory's) was billable, or None."""
    billable_from = max(product.start_date, start)
    billable_until = min(product.termination_date or end, end)
    return (billable_from, billable_until) if billable_from < billable_until else None


def contract_years(
    product: Model, since: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    """The product's contract years [start, end) that start in [since, until): the first from
    its start date, each next one from an anniversary of it."""
    first = max(since.year - product.start_date.year - 1, 0)
    years = []
    for count in range(first, until.year - product.start_date.year + 1):
        year_start = add_years(product.start_date, count)
        if since <= year_start < until:
            years.append((year_start, add_years(product.start_date, count + 1)))
    return years


def unsuspended_seconds(
    interval: tuple[datetime, datetime], suspended: list[tuple[datetime, datetime | None]]
) -> Decimal:
    """Seconds of `interval` outside the suspended intervals."""
    start, end = interval
    seconds = (end - start).total_seconds()
    for since, until in suspended:
        overlap_from, overlap_until = max(since, start), min(until or end, end)
        if overlap_from < overlap_until:
            seconds -= (overlap_until - overlap_from).total_seconds()
    return Decimal(seconds)


def periods_since_start(*, bill_cycle_day: int, product: Model, start: datetime) -> int:
    """Which billing period of the product [start, ...) is: 1 for the one it started in."""
    first, _ = billing_period(bill_cycle_day=bill_cycle_day, at=product.start_date)
    return (start.year - first.year) * 12 + start.month - first.month + 1
