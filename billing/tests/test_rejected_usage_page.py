"""The rejected-usage page: finance and the NOC see rejected usage by reason and day, with
fixed queries, and reprocess it from the page."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.models import UsageEvent
from billing.services.usage_bulk import usage_bulk_ingest, usage_row
from billing.tests.factories import active_product
from catalog.models import ProductOfferingPrice

pytestmark = pytest.mark.django_db
PAGE = "/finance/usage/rejected/"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def product():
    return active_product(start_date=utc(2026, 10, 1))


def rejected(count: int, service_id: str, prefix: str, rating_group: str = "VOICE") -> None:
    usage_bulk_ingest(
        [
            usage_row(
                event_id=f"{prefix}{n}",
                service_id=service_id,
                usage_date="2026-10-20T10:00:00Z",
                volume="1",
                unit="GB",
                rating_group=rating_group,
            )
            for n in range(count)
        ]
    )


def test_finance_and_the_noc_see_it_agents_do_not(finance_client, noc_client, agent_client):
    assert finance_client.get(PAGE).status_code == 200
    assert noc_client.get(PAGE).status_code == 200
    assert agent_client.get(PAGE).status_code == 403
    assert agent_client.post(f"{PAGE}reprocess/").status_code == 403


def test_listed_by_reason_and_day_in_fixed_queries(
    finance_client, product, django_assert_num_queries, billing_clock
):
    service_id = str(product.services.get().pk)
    rejected(2, service_id, "voice-")
    rejected(1, "4242", "stray-", rating_group="DATA_5G_PREMIUM")
    finance_client.get(PAGE)
    with django_assert_num_queries(6) as few:
        body = finance_client.get(PAGE).content.decode()
    queries = len(few.captured_queries)
    assert "unpricedRatingGroup: 2" in body
    assert "unknownService: 1" in body
    assert body.count("data-usage=") == 3
    billing_clock.move_to(utc(2026, 12, 4, 9))
    rejected(30, service_id, "more-")
    with django_assert_num_queries(queries):
        finance_client.get(PAGE)

    by_reason = finance_client.get(PAGE, {"reason": "unknownService"}).content.decode()
    assert by_reason.count("data-usage=") == 1
    assert "Service &#x27;4242&#x27; does not exist" in by_reason
    by_day = finance_client.get(PAGE, {"day": "2026-12-03"}).content.decode()
    assert by_day.count("data-usage=") == 3
    assert finance_client.get(PAGE, {"day": "yesterday"}).status_code == 400


def test_the_button_reprocesses_what_the_filter_shows(finance_client, product):
    service_id = str(product.services.get().pk)
    rejected(3, service_id, "voice-")
    rejected(1, "4242", "stray-", rating_group="DATA_5G_PREMIUM")
    ProductOfferingPrice.objects.create(
        product_offering=product.product_offering,
        name="Voice",
        price_type="usage",
        rating_group="VOICE",
        unit_of_measure="GB",
        amount=Decimal("1.00"),
        currency="EUR",
        valid_from=utc(2026, 1, 1),
    )

    response = finance_client.post(
        f"{PAGE}reprocess/", {"reason": "unpricedRatingGroup", "day": ""}, follow=True
    )

    assert response.status_code == 200
    assert "Reprocessed 3: 3 now chargeable." in response.content.decode()
    assert UsageEvent.objects.filter(status="received").count() == 3
    assert UsageEvent.objects.get(event_id="stray-0").status == "rejected"
