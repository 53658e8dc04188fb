"""Concurrent twins: one eventId or one payment reference stored once, every caller gets it."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Payment, PaymentAllocation, UsageEvent
from billing.selectors import account_standing
from billing.services import bill_run_start, payment_create, usage_ingest
from billing.tests.factories import active_product


@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_store_one_event():
    product = active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))
    service_id = str(product.services.get().pk)
    barrier = threading.Barrier(6)
    results, errors = [], []

    def ingest():
        try:
            barrier.wait()
            results.append(
                usage_ingest(
                    event_id="twin",
                    service_id=service_id,
                    usage_date=datetime(2026, 10, 2, tzinfo=UTC),
                    volume=Decimal("1"),
                    unit="GB",
                    rating_group="DATA_5G_PREMIUM",
                )
            )
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert {usage.pk for usage, _ in results} == {UsageEvent.objects.get().pk}


@pytest.mark.django_db(transaction=True)
def test_concurrent_twin_payments_record_and_allocate_once():
    account = active_product(start_date=datetime(2026, 9, 1, tzinfo=UTC)).billing_account
    bill_run_start(as_of=date(2026, 11, 1))  # 94.80 and 36.00
    barrier = threading.Barrier(6)
    results, errors = [], []

    def pay():
        try:
            barrier.wait()
            results.append(
                payment_create(
                    billing_account_id=account.pk,
                    amount=Decimal("100.00"),
                    currency="EUR",
                    method="card",
                    reference="TWIN-1",
                )
            )
        except Exception as error:  # reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert {payment.pk for payment, _ in results} == {Payment.objects.get().pk}
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == Decimal("100.00")
    assert account_standing(account) == (Decimal("30.80"), Decimal("0"))
