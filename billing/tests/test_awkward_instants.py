"""Billing periods, proration, due dates and bill runs at the instants calendars get wrong:
a month's first minutes, the 30th and 31st, 28 and 29 February of a leap year, and the last
quarter hour of a year; for cycle days 1 and 28. The clock is pinned at each instant."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from billing.models import CustomerBill
from billing.services import bill_run_start, billing_period
from billing.tests.factories import active_product
from crm.tests.factories import BillingAccountFactory
from telco import clock
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


INSTANTS = {
    "month-first-minutes": utc(2027, 3, 1, 0, 5),
    "31st": utc(2027, 1, 31, 12),
    "30th": utc(2027, 3, 30, 12),
    "leap-28-feb-last-minute": utc(2028, 2, 28, 23, 59),
    "leap-day": utc(2028, 2, 29, 12),
    "year-last-quarter-hour": utc(2027, 12, 31, 23, 45),
}

# (instant, cycle day): the period the instant lies in; what is left of it from the instant
# as a share (6 places) and as the prorated 30.00 monthly fee (half-even).
PERIODS = {
    ("month-first-minutes", 1): (utc(2027, 3, 1), utc(2027, 4, 1), "0.999888", "30.00"),
    ("month-first-minutes", 28): (utc(2027, 2, 28), utc(2027, 3, 28), "0.964162", "28.92"),
    ("31st", 1): (utc(2027, 1, 1), utc(2027, 2, 1), "0.016129", "0.48"),
    ("31st", 28): (utc(2027, 1, 28), utc(2027, 2, 28), "0.887097", "26.61"),
    ("30th", 1): (utc(2027, 3, 1), utc(2027, 4, 1), "0.048387", "1.45"),
    ("30th", 28): (utc(2027, 3, 28), utc(2027, 4, 28), "0.919355", "27.58"),
    # February 2028 has 29 days: 1441 minutes of 41760.
    ("leap-28-feb-last-minute", 1): (utc(2028, 2, 1), utc(2028, 3, 1), "0.034507", "1.04"),
    ("leap-28-feb-last-minute", 28): (utc(2028, 2, 28), utc(2028, 3, 28), "0.965541", "28.97"),
    ("leap-day", 1): (utc(2028, 2, 1), utc(2028, 3, 1), "0.017241", "0.52"),
    ("leap-day", 28): (utc(2028, 2, 28), utc(2028, 3, 28), "0.948276", "28.45"),
    # 15 minutes of December: 30.00 x 15/44640 = 0.0101 -> 0.01
    ("year-last-quarter-hour", 1): (utc(2027, 12, 1), utc(2028, 1, 1), "0.000336", "0.01"),
    ("year-last-quarter-hour", 28): (utc(2027, 12, 28), utc(2028, 1, 28), "0.871304", "26.14"),
}

# A bill made at the instant is due 14 days later (PAYMENT_TERMS), across month, leap day
# and year ends.
DUE = {
    "month-first-minutes": utc(2027, 3, 15, 0, 5),
    "31st": utc(2027, 2, 14, 12),
    "30th": utc(2027, 4, 13, 12),
    "leap-28-feb-last-minute": utc(2028, 3, 13, 23, 59),
    "leap-day": utc(2028, 3, 14, 12),
    "year-last-quarter-hour": utc(2028, 1, 14, 23, 45),
}

# A run at the instant for a product started 40 days before it: the periods that have ended.
ENDED_BY_THE_INSTANT = {
    ("month-first-minutes", 1): [utc(2027, 1, 1), utc(2027, 2, 1)],  # March began 5 min ago
    ("month-first-minutes", 28): [utc(2026, 12, 28), utc(2027, 1, 28)],
    ("31st", 1): [utc(2026, 12, 1)],
    ("31st", 28): [utc(2026, 11, 28), utc(2026, 12, 28)],
    ("30th", 1): [utc(2027, 2, 1)],
    ("30th", 28): [utc(2027, 1, 28), utc(2027, 2, 28)],
    ("leap-28-feb-last-minute", 1): [utc(2028, 1, 1)],
    ("leap-28-feb-last-minute", 28): [utc(2027, 12, 28), utc(2028, 1, 28)],
    ("leap-day", 1): [utc(2028, 1, 1)],
    ("leap-day", 28): [utc(2027, 12, 28), utc(2028, 1, 28)],
    ("year-last-quarter-hour", 1): [utc(2027, 11, 1)],  # December ends in 15 minutes
    ("year-last-quarter-hour", 28): [utc(2027, 10, 28), utc(2027, 11, 28)],
}

CASES = pytest.mark.parametrize(
    ("instant", "cycle_day"), [(name, day) for name in INSTANTS for day in (1, 28)]
)
MICROSECOND = timedelta(microseconds=1)


@CASES
def test_the_period_at_the_instant_is_half_open_and_touches_its_neighbours(instant, cycle_day):
    start, end, _, _ = PERIODS[(instant, cycle_day)]
    with time_machine.travel(INSTANTS[instant], tick=False):
        now = clock.now()

        assert billing_period(bill_cycle_day=cycle_day, at=now) == (start, end)
    assert start <= now < end
    assert billing_period(bill_cycle_day=cycle_day, at=start) == (start, end)
    assert billing_period(bill_cycle_day=cycle_day, at=end - MICROSECOND) == (start, end)
    assert billing_period(bill_cycle_day=cycle_day, at=end)[0] == end
    assert billing_period(bill_cycle_day=cycle_day, at=start - MICROSECOND)[1] == start
    assert (start.day, end.day) == (cycle_day, cycle_day)


@CASES
def test_a_product_activated_at_the_instant_is_prorated_exactly(instant, cycle_day):
    start, end, share, amount = PERIODS[(instant, cycle_day)]
    account = BillingAccountFactory(bill_cycle_day=cycle_day)
    with time_machine.travel(INSTANTS[instant], tick=False):
        product = active_product(account=account, start_date=clock.now())
    billed_at = end + timedelta(minutes=5)

    with time_machine.travel(billed_at, tick=False):
        run = bill_run_start(as_of=clock.now().date())

    assert (run.state, run.bills_created) == ("completed", 1)
    bill = CustomerBill.objects.get(billing_account=account)
    assert (bill.period_start, bill.period_end) == (start, end)
    assert (bill.bill_date, bill.payment_due_date) == (billed_at, billed_at + timedelta(days=14))
    lines = list(
        bill.lines.order_by("id").values_list("charge_type", "quantity", "tax_excluded_amount")
    )
    assert lines == [
        ("oneTime", Decimal(1), Decimal("49.00")),
        ("recurring", Decimal(share), Decimal(amount)),
    ]
    assert product.start_date == INSTANTS[instant]


@CASES
def test_a_run_at_the_instant_bills_the_periods_ended_and_dates_them(instant, cycle_day):
    account = BillingAccountFactory(bill_cycle_day=cycle_day)
    active_product(account=account, start_date=INSTANTS[instant] - timedelta(days=40))

    with time_machine.travel(INSTANTS[instant], tick=False):
        run = bill_run_start(as_of=clock.now().date())
        # Again at the same instant: nothing more has ended.
        again = bill_run_start(as_of=clock.now().date())

    bills = list(CustomerBill.objects.filter(billing_account=account).order_by("period_start"))
    assert [bill.period_start for bill in bills] == ENDED_BY_THE_INSTANT[(instant, cycle_day)]
    assert (run.bills_created, again.bills_created) == (len(bills), 0)
    for bill in bills:
        assert bill.period_end == billing_period(bill_cycle_day=cycle_day, at=bill.period_start)[1]
        assert bill.period_end <= INSTANTS[instant]
        assert (bill.bill_date, bill.payment_due_date) == (INSTANTS[instant], DUE[instant])


def test_a_run_cannot_bill_ahead_of_the_clock():
    with time_machine.travel(INSTANTS["year-last-quarter-hour"], tick=False):
        assert bill_run_start(as_of=date(2027, 12, 31)).state == "completed"
        with pytest.raises(DomainError, match="2028-01-01 is in the future"):
            bill_run_start(as_of=date(2028, 1, 1))


@pytest.mark.any_date
@pytest.mark.parametrize("cycle_day", [1, 28])
def test_a_run_today_bills_each_period_that_ended_since_a_start_40_days_ago(cycle_day):
    # Unpinned: the clock is the real one, or the instant TEST_CLOCK_AT gave the session.
    now = clock.now()
    started = now - timedelta(days=40)
    account = BillingAccountFactory(bill_cycle_day=cycle_day)
    active_product(account=account, start_date=started)
    # A period ends at midnight of each cycle day after the start, up to today (a run bills a
    # period on the day it ends).
    days = (started.date() + timedelta(days=n) for n in range(1, 42))
    ends = [utc(d.year, d.month, d.day) for d in days if d.day == cycle_day and d <= now.date()]

    run = bill_run_start(as_of=now.date())

    bills = CustomerBill.objects.filter(billing_account=account).order_by("period_start")
    assert [bill.period_end for bill in bills] == ends
    assert run.bills_created == len(ends) in (1, 2)
