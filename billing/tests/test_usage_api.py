"""TMF635 usage ingest: validation, idempotency on eventId, representation, roles."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from billing.models import AppliedCharge, UsageEvent
from billing.services import bill_run_start
from billing.tests.factories import active_product, usage_event

pytestmark = pytest.mark.django_db
URL = "/tmf-api/usageManagement/v4/usage"


def body(service_id, *, event_id="evt-1", volume="1500", unit="MB", **overrides):
    characteristics = {
        "eventId": event_id,
        "serviceId": str(service_id),
        "volume": volume,
        "unit": unit,
        "ratingGroup": "DATA_5G_PREMIUM",
        **overrides,
    }
    return {
        "usageDate": "2026-10-20T10:00:00Z",
        "usageType": "data",
        "usageSpecification": {"id": "data-session"},
        "usageCharacteristic": [
            {"name": name, "value": value}
            for name, value in characteristics.items()
            if value is not None
        ],
    }


@pytest.fixture
def product():
    return active_product(start_date=datetime(2026, 10, 1, tzinfo=UTC))


@pytest.fixture
def service(product):
    return product.services.get()


def test_post_stores_usage_normalised_to_gigabytes(noc_api, service, product):
    response = noc_api.post(URL, body(service.pk), format="json")

    assert response.status_code == 201, response.data
    usage = UsageEvent.objects.get()
    assert response["Location"] == response.data["href"] == f"http://testserver{URL}/{usage.pk}"
    assert response.data["id"] == str(usage.pk)
    assert response.data["usageDate"] == "2026-10-20T10:00:00Z"
    assert response.data["status"] == "received"
    assert response.data["usageSpecification"]["id"] == "data-session"
    assert response.data["usageCharacteristic"] == [
        {"name": "eventId", "value": "evt-1"},
        {"name": "serviceId", "value": str(service.pk)},
        {"name": "volume", "value": 1500.0},
        {"name": "unit", "value": "MB"},
        {"name": "ratingGroup", "value": "DATA_5G_PREMIUM"},
    ]
    assert response.data["relatedParty"][0]["id"] == str(product.customer_id)
    assert response.data["ratedProductUsage"] == []
    assert response.data["@type"] == "Usage"
    assert (usage.product, usage.billing_account_id, usage.rated_volume) == (
        product,
        product.billing_account_id,
        Decimal("1.5"),
    )


@pytest.mark.parametrize(
    ("volume", "unit", "gigabytes"),
    [
        ("2500000000", "bytes", "2.5"),
        ("1234567", "KB", "1.234567"),
        ("0.75", "GB", "0.75"),
        (3, "GB", "3"),
    ],
)
def test_units_are_converted_with_decimal_arithmetic(noc_api, service, volume, unit, gigabytes):
    response = noc_api.post(URL, body(service.pk, volume=volume, unit=unit), format="json")

    assert response.status_code == 201, response.data
    assert UsageEvent.objects.get().rated_volume == Decimal(gigabytes)


def test_same_event_id_answers_200_with_the_stored_usage_and_is_charged_once(
    noc_api, service, product
):
    first = noc_api.post(URL, body(service.pk, volume="7", unit="GB"), format="json")
    again = noc_api.post(URL, body(service.pk, volume="7", unit="GB"), format="json")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.data["id"] == first.data["id"]
    assert UsageEvent.objects.count() == 1

    bill_run_start(as_of=date(2026, 11, 1))

    usage_line = AppliedCharge.objects.get(charge_type="usage")
    # 7 GB once (not 14): 2 GB beyond the 5 included x 2.00
    assert usage_line.tax_excluded_amount == Decimal("4.00")
    billed = noc_api.get(f"{URL}/{first.data['id']}")
    assert billed.data["status"] == "billed"
    assert billed.data["ratedProductUsage"][0]["isBilled"] is True
    assert billed.data["ratedProductUsage"][0]["productRef"]["id"] == str(product.pk)


# What a record lacks or names wrongly is stored `rejected` (see test_tmf_conformance); only a
# value that is not a volume at all, or does not fit its column, is refused.
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"volume": "lots"}, "usageCharacteristic.volume"),
        ({"volume": "-1"}, "usageCharacteristic.volume"),
        ({"volume": "NaN"}, "usageCharacteristic.volume"),
        ({"eventId": "x" * 81}, "usageCharacteristic.eventId"),
    ],
)
def test_bad_characteristic_is_400_naming_it_and_nothing_is_written(
    noc_api, service, overrides, field
):
    response = noc_api.post(URL, body(service.pk, **overrides), format="json")

    assert response.status_code == 400, response.data
    assert field in response.data["errors"], response.data
    assert UsageEvent.objects.count() == 0


def test_roles(noc_api, admin_api, agent_api, finance_api, anonymous_api, service):
    assert agent_api.post(URL, body(service.pk, event_id="a"), format="json").status_code == 403
    assert finance_api.post(URL, body(service.pk, event_id="f"), format="json").status_code == 403
    assert anonymous_api.post(URL, body(service.pk, event_id="x"), format="json").status_code == 401
    assert UsageEvent.objects.count() == 0
    assert noc_api.post(URL, body(service.pk, event_id="n"), format="json").status_code == 201
    assert admin_api.post(URL, body(service.pk, event_id="m"), format="json").status_code == 201
    for client in (agent_api, noc_api, finance_api):
        assert client.get(URL).status_code == 200
    assert anonymous_api.get(URL).status_code == 401


def test_list_filters_and_constant_query_count(finance_api, product, django_assert_num_queries):
    def add(count):
        for _ in range(count):
            usage_event(
                product=product,
                usage_date=datetime(2026, 10, 3, tzinfo=UTC),
                gigabytes="1",
            )

    add(2)
    finance_api.get(URL)  # warm the role cache of the client's first request
    with django_assert_num_queries(4) as small:
        assert len(finance_api.get(URL).data) == 2
    add(8)
    with django_assert_num_queries(len(small.captured_queries)):
        response = finance_api.get(URL)
    assert (response["X-Total-Count"], len(response.data)) == ("10", 10)

    filtered = finance_api.get(URL, {"status": "billed"})
    assert (filtered.status_code, filtered.data) == (200, [])
    by_customer = finance_api.get(URL, {"relatedParty.id": product.customer_id, "limit": 3})
    assert (by_customer["X-Total-Count"], by_customer["X-Result-Count"]) == ("10", "3")


def test_a_service_without_a_product_is_stored_rejected_no_billable_product(noc_api, service):
    service.product = None
    service.save(update_fields=["product"])
    response = noc_api.post(URL, body(service.pk), format="json")
    assert response.status_code == 201, response.data
    event = UsageEvent.objects.get(event_id="evt-1")
    assert (event.status, event.rejection_reason) == ("rejected", "noBillableProduct")
