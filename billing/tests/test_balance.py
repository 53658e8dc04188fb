"""Account standing: balance (unpaid bills) and overdue (unpaid bills past their due date)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import CustomerBill
from billing.selectors import account_standing, accounts_with_balance
from billing.services import bill_run_start
from billing.tests.factories import active_product
from crm.models import BillingAccount
from crm.tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_overdue_is_the_unpaid_part_past_its_due_date():
    # September: 49.00 + 30.00 = 79.00 + 20% = 94.80; October: 30.00 + 6.00 = 36.00.
    product = active_product(start_date=utc(2026, 9, 1))
    bill_run_start(as_of=date(2026, 11, 1))
    account = product.billing_account
    assert account_standing(account) == (Decimal("130.80"), Decimal("0"))

    september = CustomerBill.objects.get(period_start=utc(2026, 9, 1))
    september.payment_due_date = timezone.now() - timedelta(seconds=1)
    september.save()
    assert account_standing(account) == (Decimal("130.80"), Decimal("94.80"))


def test_annotations_come_in_one_query_for_many_accounts(django_assert_num_queries):
    accounts = [active_product(start_date=utc(2026, 9, 1)).billing_account for _ in range(3)]
    idle = BillingAccountFactory()
    bill_run_start(as_of=date(2026, 11, 1))
    CustomerBill.objects.filter(billing_account=accounts[0]).update(
        payment_due_date=timezone.now() - timedelta(days=1)
    )

    with django_assert_num_queries(1):
        rows = {
            a.pk: (a.balance, a.overdue)
            for a in accounts_with_balance(BillingAccount.objects.order_by("pk"))
        }

    assert rows[accounts[0].pk] == (Decimal("130.80"), Decimal("130.80"))
    assert rows[accounts[1].pk] == (Decimal("130.80"), Decimal("0"))
    assert rows[idle.pk] == (Decimal("0"), Decimal("0"))
