"""One clock: the product reads the time from `telco.clock.now()` only, never the database's."""

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings

from billing.models import CustomerBill
from billing.selectors import account_standing
from billing.services import bill_run_start
from billing.tests.factories import active_product
from telco import clock

# Other ways to read the time, each of which would escape a pinned or moved clock.
OTHER_CLOCKS = re.compile(
    r"timezone\.(now|localdate|localtime)\(|datetime\.(now|utcnow|today)\(|date\.today\(|"
    r"\bNow\(\)|default=timezone\.now|CURRENT_TIMESTAMP|[^.]\bnow\(\)"
)


def product_sources():
    root = Path(settings.BASE_DIR)
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in {".venv", "bench", "scripts"} or "tests" in parts or "migrations" in parts:
            continue
        if path.name == "conftest.py" or path == root / "telco" / "clock.py":
            continue
        yield path


def test_product_code_reads_the_time_from_the_one_clock():
    offenders = [
        f"{path.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}"
        for path in product_sources()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if OTHER_CLOCKS.search(line)
    ]
    assert offenders == []


def test_the_clock_follows_a_pinned_test_and_an_offset():
    with time_machine.travel(datetime(2028, 2, 29, 23, 59, tzinfo=UTC), tick=False):
        assert clock.now() == datetime(2028, 2, 29, 23, 59, tzinfo=UTC)
        assert clock.today() == date(2028, 2, 29)
        with override_settings(CLOCK_OFFSET_SECONDS=120):
            assert clock.now() == datetime(2028, 3, 1, 0, 1, tzinfo=UTC)
            assert clock.today() == date(2028, 3, 1)


@pytest.mark.django_db
def test_overdue_is_judged_by_the_application_clock_not_the_databases():
    """PostgreSQL's own clock stays at the real time; the application's is 60 days on."""
    product = active_product(start_date=datetime(2026, 9, 1, tzinfo=UTC))
    bill_run_start(as_of=date(2026, 10, 1))
    september = CustomerBill.objects.get(billing_account=product.billing_account)
    september.payment_due_date = clock.now() + timedelta(days=30)
    september.save(update_fields=["payment_due_date"])
    account = product.billing_account
    assert account_standing(account) == (Decimal("94.80"), Decimal("0"))

    with time_machine.travel(clock.now() + timedelta(days=60), tick=True):
        assert account_standing(account) == (Decimal("94.80"), Decimal("94.80"))
