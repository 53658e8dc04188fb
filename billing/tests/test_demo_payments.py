"""The demo's payments: after the bill run, accounts have paid in full, in part, over or not."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing import demo
from billing.models import CustomerBill, Payment
from billing.selectors import accounts_with_balance
from billing.services import bill_run_start
from billing.tests.factories import active_product
from crm.demo import DEMO_ACCOUNT_PREFIX
from crm.models import BillingAccount
from crm.tests.factories import BillingAccountFactory

pytestmark = pytest.mark.django_db


def test_demo_payments_are_allocated_and_repeatable():
    for number in range(30):
        account = BillingAccountFactory(account_number=f"{DEMO_ACCOUNT_PREFIX}{number:08d}")
        active_product(account=account, start_date=datetime(2026, 8, 20, tzinfo=UTC))
    bill_run_start(as_of=date(2026, 11, 1))

    created = demo.ensure_payments(7)

    assert created == Payment.objects.count() > 15
    assert demo.ensure_payments(7) == 0
    # Bills are dated at their period's end; August's and September's have fallen due.
    august = CustomerBill.objects.filter(period_start=datetime(2026, 8, 1, tzinfo=UTC)).first()
    assert august.bill_date == august.period_end
    assert {"settled", "new"} <= set(CustomerBill.objects.values_list("state", flat=True))
    accounts = list(accounts_with_balance(BillingAccount.objects.all()))
    assert any(a.overdue > 0 for a in accounts)
    assert any(a.credit > 0 for a in accounts)
    for account in accounts:
        assert Decimal(0) <= account.overdue <= account.balance + account.credit
