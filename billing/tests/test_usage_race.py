"""Concurrent twins: one eventId or one payment reference stored once, every caller gets it."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import Payment, PaymentAllocation, UsageEvent
from billing.selectors import account_standing
from billing.services import bill_run_start, payment_create, usage_ingest
from billing.tests.factories import active_product
from telco.testing import run_at_once


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_store_one_event():
    product = active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))
    service_id = str(product.services.get().pk)
    results, errors = run_at_once(
        lambda: usage_ingest(
            event_id="twin",
            service_id=service_id,
            usage_date=datetime(2026, 10, 2, tzinfo=UTC),
            volume=Decimal("1"),
            unit="GB",
            rating_group="DATA_5G_PREMIUM",
        ),
        times=6,
    )

    assert errors == []
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert {usage.pk for usage, _ in results} == {UsageEvent.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_twin_payments_record_and_allocate_once():
    account = active_product(start_date=datetime(2026, 9, 1, tzinfo=UTC)).billing_account
    bill_run_start(as_of=date(2026, 11, 1))  # 94.80 and 36.00
    results, errors = run_at_once(
        lambda: payment_create(
            billing_account_id=account.pk,
            amount=Decimal("100.00"),
            currency="EUR",
            method="card",
            reference="TWIN-1",
        ),
        times=6,
    )

    assert errors == []
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert {payment.pk for payment, _ in results} == {Payment.objects.get().pk}
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == Decimal("100.00")
    assert account_standing(account) == (Decimal("30.80"), Decimal("0"))
