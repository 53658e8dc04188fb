"""TMF620 and the read-only service/resource catalogs, through the HTTP API.

These tests also cover the shared TMF kernel's conventions (CONFORMANCE.md).
"""

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.choices import LifecycleStatus
from catalog.models import (
    ProductOffering,
    ProductOfferingLifecycleChange,
    ProductOfferingPrice,
    ProductSpecification,
)
from catalog.tests.factories import (
    ProductOfferingFactory,
    ProductOfferingPriceFactory,
    ProductSpecificationFactory,
    ResourceSpecificationFactory,
    ServiceSpecificationFactory,
    five_g_premium_offering,
)
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productCatalogManagement/v4"
HOST = "http://testserver"


def product_instance_of(offering):
    account = BillingAccountFactory()
    return ProductInstance.objects.create(
        customer=account.customer, billing_account=account, product_offering=offering, name="x"
    )


def test_offering_representation(agent_api):
    offering = five_g_premium_offering()
    prices = list(offering.prices.order_by("id"))
    response = agent_api.get(f"{BASE}/productOffering/{offering.pk}")
    assert response.status_code == 200
    body = response.json()
    specification = offering.product_specification
    assert body == {
        "id": str(offering.pk),
        "href": f"{HOST}{BASE}/productOffering/{offering.pk}",
        "name": "5G Premium",
        "description": "",
        "isSellable": True,
        "lifecycleStatus": "launched",
        "lastUpdate": body["lastUpdate"],
        "isBundle": False,
        "validFor": {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": None},
        "productSpecification": {
            "id": str(specification.pk),
            "href": f"{HOST}{BASE}/productSpecification/{specification.pk}",
            "name": "5G Connectivity",
            "@referredType": "ProductSpecification",
        },
        "productOfferingPrice": [
            {
                "id": str(p.pk),
                "href": f"{HOST}{BASE}/productOfferingPrice/{p.pk}",
                "name": p.name,
                "@referredType": "ProductOfferingPrice",
            }
            for p in prices
        ],
        "category": [],
        "marketSegment": [],
        "bundledProductOffering": [],
        "@type": "ProductOffering",
    }


def test_usage_price_representation(finance_api):
    offering = five_g_premium_offering()
    usage = offering.prices.get(price_type="usage")
    body = finance_api.get(f"{BASE}/productOfferingPrice/{usage.pk}").json()
    assert {k: v for k, v in body.items() if k not in ("lastUpdate", "productOffering")} == {
        "id": str(usage.pk),
        "href": f"{HOST}{BASE}/productOfferingPrice/{usage.pk}",
        "name": "Data usage",
        "priceType": "usage",
        "lifecycleStatus": "launched",
        "recurringChargePeriodType": None,
        "recurringChargePeriodLength": None,
        "price": {"unit": "EUR", "value": 2.0},
        "unitOfMeasure": {"amount": 1, "units": "GB"},
        "ratingGroup": "DATA_5G_PREMIUM",
        "includedAllowance": {"amount": 5.0, "units": "GB"},
        "percentage": None,
        "applicationDuration": None,
        "priceTier": [],
        "isBundle": False,
        "validFor": {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": None},
        "@type": "ProductOfferingPrice",
    }
    assert body["productOffering"]["id"] == str(offering.pk)


def test_specifications_representation(noc_api):
    offering = five_g_premium_offering()
    specification = offering.product_specification
    body = noc_api.get(f"{BASE}/productSpecification/{specification.pk}").json()
    assert body["productSpecCharacteristic"] == [
        {
            "name": "bandwidth",
            "description": "",
            "valueType": "string",
            "configurable": True,
            "minCardinality": 0,
            "maxCardinality": 1,
            "productSpecCharacteristicValue": [
                {"value": "100Mbps", "isDefault": False},
                {"value": "500Mbps", "isDefault": True},
                {"value": "1Gbps", "isDefault": False},
            ],
        }
    ]
    service = specification.service_specifications.get()
    assert [ref["name"] for ref in body["serviceSpecification"]] == ["5G Slice Service"]
    service_body = noc_api.get(
        f"/tmf-api/serviceCatalogManagement/v4/serviceSpecification/{service.pk}"
    ).json()
    assert [(r["name"], r["@referredType"]) for r in service_body["resourceSpecification"]] == [
        ("gNB", "ResourceSpecification"),
        ("5G Slice", "ResourceSpecification"),
    ]
    gnb_href = service_body["resourceSpecification"][0]["href"]
    gnb = noc_api.get(gnb_href.removeprefix(HOST)).json()
    assert (gnb["name"], gnb["category"], gnb["@type"]) == ("gNB", "gnb", "ResourceSpecification")
    listing = noc_api.get(
        "/tmf-api/resourceCatalogManagement/v4/resourceSpecification?category=slice"
    )
    assert [r["name"] for r in listing.json()] == ["5G Slice"]


def test_create_specification_offering_and_prices(admin_api):
    service = ServiceSpecificationFactory(name="Fibre Access Service")
    response = admin_api.post(
        f"{BASE}/productSpecification",
        {
            "name": "Fibre Connectivity",
            "brand": "Telco",
            "productSpecCharacteristic": [
                {
                    "name": "speed",
                    "valueType": "string",
                    "minCardinality": 1,
                    "productSpecCharacteristicValue": [
                        {"value": "300Mbps", "isDefault": True},
                        {"value": "1Gbps"},
                    ],
                }
            ],
            "serviceSpecification": [{"id": str(service.pk)}],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    specification = ProductSpecification.objects.get(name="Fibre Connectivity")
    characteristic = specification.characteristics.get()
    assert (characteristic.allowed_values, characteristic.default_value) == (
        ["300Mbps", "1Gbps"],
        "300Mbps",
    )
    assert characteristic.is_required
    assert list(specification.service_specifications.all()) == [service]

    response = admin_api.post(
        f"{BASE}/productOffering/",
        {
            "name": "Fibre 1G",
            "lifecycleStatus": "launched",  # ignored: the lifecycle starts in design
            "productSpecification": {"id": str(specification.pk)},
            "validFor": {"startDateTime": "2026-12-01T00:00:00Z"},
        },
        format="json",
    )
    assert response.status_code == 201
    offering = ProductOffering.objects.get(name="Fibre 1G")
    assert (
        response["Location"]
        == response.json()["href"]
        == f"{HOST}{BASE}/productOffering/{offering.pk}"
    )
    assert response.json()["lifecycleStatus"] == "inDesign"
    assert response.json()["validFor"]["startDateTime"] == "2026-12-01T00:00:00Z"

    response = admin_api.post(
        f"{BASE}/productOfferingPrice",
        {
            "name": "Data",
            "priceType": "usage",
            "price": {"unit": "EUR", "value": 1.5},
            "unitOfMeasure": {"amount": 1, "units": "GB"},
            "ratingGroup": "DATA_FIBRE",
            "includedAllowance": {"amount": 10, "units": "GB"},
            "productOffering": {"id": str(offering.pk)},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    price = offering.prices.get()
    assert (price.amount, price.currency, price.rating_group, price.included_allowance) == (
        Decimal("1.5000"),
        "EUR",
        "DATA_FIBRE",
        Decimal("10.0000"),
    )
    refs = admin_api.get(f"{BASE}/productOffering/{offering.pk}").json()["productOfferingPrice"]
    assert [r["id"] for r in refs] == [str(price.pk)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"name": "Bad", "priceType": "recurring", "price": {"unit": "EUR", "value": 5}},
            "recurringChargePeriodType",
        ),
        (
            {
                "name": "Bad",
                "priceType": "usage",
                "price": {"unit": "EUR", "value": 5},
                "unitOfMeasure": {"units": "GB"},
            },
            "ratingGroup",
        ),
        (
            {"name": "Bad", "priceType": "oneTime", "price": {"unit": "EUR", "value": -1}},
            "price.value",
        ),
        ({"name": "Bad", "priceType": "hourly", "price": {"unit": "EUR", "value": 1}}, "priceType"),
        # A price without a value may be designed, not launched (test_tmf_conformance.py).
        ({"name": "Bad", "priceType": "oneTime", "lifecycleStatus": "launched"}, "price"),
    ],
)
def test_bad_price_writes_nothing(admin_api, body, field):
    offering = ProductOfferingFactory()
    response = admin_api.post(
        f"{BASE}/productOfferingPrice",
        {**body, "productOffering": {"id": str(offering.pk)}},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ProductOfferingPrice.objects.exists()


def test_bad_offering_writes_nothing(admin_api):
    response = admin_api.post(
        f"{BASE}/productOffering",
        {"name": "X", "productSpecification": {"id": "999"}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "productSpecification.id": ["Product specification '999' does not exist."]
    }
    ProductOfferingFactory(name="Taken")
    specification = ProductSpecificationFactory()
    response = admin_api.post(
        f"{BASE}/productOffering",
        {"name": "Taken", "productSpecification": {"id": str(specification.pk)}},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    assert ProductOffering.objects.count() == 1


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json"])
def test_lifecycle_patch(admin_api, content_type):
    offering = ProductOfferingFactory(lifecycle_status=LifecycleStatus.IN_DESIGN)
    url = f"{BASE}/productOffering/{offering.pk}"

    def patch(body):
        return admin_api.patch(url, json.dumps(body), content_type=content_type)

    response = patch({"lifecycleStatus": "launched", "description": "Now on sale"})
    assert response.status_code == 200
    assert (response.json()["lifecycleStatus"], response.json()["description"]) == (
        "launched",
        "Now on sale",
    )
    assert patch({"lifecycleStatus": "retired"}).status_code == 200
    response = patch({"lifecycleStatus": "launched", "description": "Back"})
    assert response.status_code == 409
    assert response.json()["code"] == "invalidStateTransition"
    offering.refresh_from_db()
    assert (offering.lifecycle_status, offering.description) == ("retired", "Now on sale")
    assert list(
        ProductOfferingLifecycleChange.objects.values_list("from_state", "to_state", "changed_by")
    ) == [("inDesign", "launched", "admin1"), ("launched", "retired", "admin1")]


def test_patch_of_a_non_patchable_attribute_is_refused(admin_api):
    offering = ProductOfferingFactory(name="Stays")
    other = ProductSpecificationFactory()
    response = admin_api.patch(
        f"{BASE}/productOffering/{offering.pk}",
        {"name": "Changed", "productSpecification": {"id": str(other.pk)}},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["productSpecification"]
    offering.refresh_from_db()
    assert offering.name == "Stays"


def test_delete_offering_and_price_unless_in_use(admin_api):
    free = ProductOfferingFactory()
    ProductOfferingPriceFactory(product_offering=free)
    assert admin_api.delete(f"{BASE}/productOffering/{free.pk}").status_code == 204
    assert admin_api.delete(f"{BASE}/productOffering/{free.pk}").status_code == 404
    assert not ProductOfferingPrice.objects.exists()

    sold = five_g_premium_offering()
    product_instance_of(sold)
    response = admin_api.delete(f"{BASE}/productOffering/{sold.pk}")
    assert response.status_code == 409
    assert response.json()["@type"] == "Error"
    price = sold.prices.first()
    assert admin_api.delete(f"{BASE}/productOfferingPrice/{price.pk}").status_code == 409
    response = admin_api.patch(
        f"{BASE}/productOfferingPrice/{price.pk}",
        {"price": {"unit": "EUR", "value": 99}},
        format="json",
    )
    assert response.status_code == 409
    # Ending a sold price's validity is how it is replaced.
    response = admin_api.patch(
        f"{BASE}/productOfferingPrice/{price.pk}",
        {"validFor": {"endDateTime": "2027-01-01T00:00:00Z"}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["validFor"]["endDateTime"] == "2027-01-01T00:00:00Z"
    assert sold.prices.count() == 3
    assert ProductOffering.objects.filter(pk=sold.pk).exists()

    unsold_price = ProductOfferingPriceFactory()
    assert admin_api.delete(f"{BASE}/productOfferingPrice/{unsold_price.pk}").status_code == 204


# --- TMF conventions (shared kernel) ----------------------------------------------------------


def test_list_is_a_bare_array_with_counts_and_paging(agent_api):
    offerings = [ProductOfferingFactory(name=f"Offering {i}") for i in range(5)]
    response = agent_api.get(f"{BASE}/productOffering?offset=1&limit=2")
    assert response.status_code == 200
    assert [o["id"] for o in response.json()] == [str(o.pk) for o in offerings[1:3]]
    assert (response["X-Total-Count"], response["X-Result-Count"]) == ("5", "2")


def test_fields_selection(agent_api):
    offering = ProductOfferingFactory(name="Only")
    href = f"{HOST}{BASE}/productOffering/{offering.pk}"
    expected = {"id": str(offering.pk), "href": href, "name": "Only", "lifecycleStatus": "launched"}
    listing = agent_api.get(f"{BASE}/productOffering?fields=name,lifecycleStatus")
    assert listing.json() == [expected]
    detail = agent_api.get(f"{BASE}/productOffering/{offering.pk}?fields=name,lifecycleStatus")
    assert detail.json() == expected


def test_attribute_filters(agent_api):
    designed = ProductOfferingFactory(lifecycle_status="inDesign")
    launched = ProductOfferingFactory(lifecycle_status="launched")
    retired = ProductOfferingFactory(lifecycle_status="retired")

    def ids(query):
        response = agent_api.get(f"{BASE}/productOffering?{query}")
        assert response.status_code == 200, response.json()
        return [o["id"] for o in response.json()]

    assert ids("lifecycleStatus=launched") == [str(launched.pk)]
    assert ids("lifecycleStatus=inDesign,retired") == [str(designed.pk), str(retired.pk)]
    assert ids(f"lifecycleStatus=launched&name={designed.name}") == []
    ProductOffering.objects.filter(pk=designed.pk).update(
        last_update=launched.last_update.replace(year=2025)
    )
    returned = agent_api.get(f"{BASE}/productOffering/{launched.pk}").json()["lastUpdate"]
    assert ids(f"lastUpdate.gte={returned}&lifecycleStatus=launched,inDesign") == [str(launched.pk)]
    assert ids(f"lastUpdate={returned}") == [str(launched.pk)]


def test_unknown_filter_attribute_is_400(agent_api):
    response = agent_api.get(f"{BASE}/productOffering?colour=blue")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["colour"]


@pytest.mark.parametrize("suffix", ["", "/"])
def test_with_and_without_trailing_slash(admin_api, suffix):
    specification = ProductSpecificationFactory()
    assert admin_api.get(f"{BASE}/productOffering{suffix}").status_code == 200
    response = admin_api.post(
        f"{BASE}/productOffering{suffix}",
        {"name": "Slashy", "productSpecification": {"id": str(specification.pk)}},
        format="json",
    )
    assert response.status_code == 201
    detail = admin_api.get(f"{BASE}/productOffering/{response.json()['id']}{suffix}")
    assert detail.status_code == 200


def test_unknown_id_is_404_with_the_error_body(agent_api):
    for path in ("productOffering/999", "productOffering/abc", "productSpecification/999"):
        response = agent_api.get(f"{BASE}/{path}")
        assert response.status_code == 404
        body = response.json()
        assert body["@type"] == "Error"
        assert body["status"] == "404"
        assert {"code", "reason", "message"} <= set(body)


def test_roles(anonymous_api, agent_api, noc_api, finance_api, admin_api):
    offering = ProductOfferingFactory()
    url = f"{BASE}/productOffering/{offering.pk}"
    assert anonymous_api.get(url).status_code == 401
    for client in (agent_api, noc_api, finance_api, admin_api):
        assert client.get(url).status_code == 200
        assert (
            client.get("/tmf-api/serviceCatalogManagement/v4/serviceSpecification").status_code
            == 200
        )
    for client in (agent_api, noc_api, finance_api):
        assert client.patch(url, {"name": "Nope"}, format="json").status_code == 403
        assert client.delete(url).status_code == 403
        response = client.post(f"{BASE}/productSpecification", {"name": "N"}, format="json")
        assert response.status_code == 403
        assert response.json()["@type"] == "Error"
    offering.refresh_from_db()
    assert not ProductSpecification.objects.filter(name="N").exists()
    assert (
        anonymous_api.post(f"{BASE}/productSpecification", {"name": "N"}, format="json").status_code
        == 401
    )


def test_idempotency_key_replays_the_first_answer(admin_api):
    specification = ProductSpecificationFactory()
    body = {"name": "Once", "productSpecification": {"id": str(specification.pk)}}
    first = admin_api.post(
        f"{BASE}/productOffering", body, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    second = admin_api.post(
        f"{BASE}/productOffering", body, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert first["Location"] == second["Location"]
    assert ProductOffering.objects.filter(name="Once").count() == 1


@pytest.mark.parametrize(
    ("path", "build"),
    [
        (
            "productOffering",
            lambda: five_g_premium_offering(name=f"5G {ProductOffering.objects.count()}"),
        ),
        ("productOfferingPrice", lambda: ProductOfferingPriceFactory()),
        (
            "productSpecification",
            lambda: five_g_premium_offering(name=f"5G {ProductOffering.objects.count()}"),
        ),
    ],
)
def test_list_query_count_is_constant(agent_api, path, build):
    def count_queries():
        with CaptureQueriesContext(connection) as context:
            response = agent_api.get(f"{BASE}/{path}")
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json())

    for _ in range(2):
        build()
    few, few_rows = count_queries()
    for _ in range(8):
        build()
    many, many_rows = count_queries()
    assert many_rows > few_rows
    assert few == many


def test_service_catalog_list_query_count_is_constant(agent_api):
    url = "/tmf-api/serviceCatalogManagement/v4/serviceSpecification"
    five_g_premium_offering()
    with CaptureQueriesContext(connection) as few:
        agent_api.get(url)
    for i in range(5):
        ServiceSpecificationFactory().resource_specifications.set(
            [ResourceSpecificationFactory(name=f"r{i}")]
        )
    with CaptureQueriesContext(connection) as many:
        assert len(agent_api.get(url).json()) == 8
    assert len(few.captured_queries) == len(many.captured_queries)
