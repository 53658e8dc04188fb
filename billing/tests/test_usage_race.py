"""Concurrent ingest of one eventId: one row, one `created`, every caller gets the same usage."""

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import UsageEvent
from billing.services import usage_ingest
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
