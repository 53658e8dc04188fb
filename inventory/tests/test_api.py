"""TMF637/638/639 inventory APIs: representations, resource writes, roles."""

import pytest

from catalog.tests.factories import ResourceSpecificationFactory
from inventory.models import Resource
from inventory.tests.factories import GnbFactory
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run

RESOURCES = "/tmf-api/resourceInventoryManagement/v4/resource"
PRODUCTS = "/tmf-api/productInventory/v4/product"
SERVICES = "/tmf-api/serviceInventory/v4/service"


@pytest.mark.django_db
def test_product_and_service_representations(finance_api):
    offering, account, gnb = five_g_world()
    order = submit_and_run(offering, account, bandwidth="1Gbps")
    product = order.items.get().product
    service = product.services.get()

    body = finance_api.get(f"{PRODUCTS}/{product.pk}").data

    assert body["status"] == "active"
    assert body["name"] == "5G Premium"
    assert body["productOffering"]["id"] == str(offering.pk)
    assert body["relatedParty"][0]["id"] == str(account.customer_id)
    assert body["billingAccount"]["id"] == str(account.pk)
    assert body["productOrderItem"] == [
        {
            "orderItemId": "1",
            "productOrderId": str(order.pk),
            "orderItemAction": "add",
            "@referredType": "ProductOrderItem",
        }
    ]
    assert [
        (p["name"], p["priceType"], p["price"]["taxExcludedAmount"]) for p in body["productPrice"]
    ] == [
        ("Activation fee", "oneTime", {"unit": "EUR", "value": 49.0}),
        ("Monthly fee", "recurring", {"unit": "EUR", "value": 30.0}),
        ("Data usage", "usage", {"unit": "EUR", "value": 2.0}),
    ]
    assert body["realizingService"][0]["id"] == str(service.pk)
    assert body["@type"] == "Product"

    body = finance_api.get(f"{SERVICES}/{service.pk}").data
    assert (body["state"], body["category"]) == ("active", "CFS")
    assert [r["id"] for r in body["supportingResource"]] == [
        str(gnb.pk),
        str(Resource.objects.get(name=f"slice-{service.pk}").pk),
    ]
    assert body["serviceCharacteristic"] == [{"name": "bandwidth", "value": "1Gbps"}]
    assert body["relatedParty"][0]["id"] == str(account.customer_id)
    assert finance_api.get(f"{SERVICES}?state=active&category=CFS").data[0]["id"] == str(service.pk)

    body = finance_api.get(f"{RESOURCES}/{gnb.pk}").data
    assert (body["@type"], body["@baseType"]) == ("Equipment", "PhysicalResource")
    assert body["place"]["name"] == gnb.site.name
    assert body["resourceCharacteristic"][:3] == [
        {"name": "resourceKind", "value": "gnb"},
        {"name": "capacityMbps", "value": 10000},
        {"name": "freeCapacityMbps", "value": 9000},
    ]
    slice_body = finance_api.get(f"{RESOURCES}?name=slice-{service.pk}").data[0]
    assert (slice_body["@type"], slice_body["@baseType"]) == ("NetworkSlice", "LogicalResource")
    assert slice_body["resourceRelationship"][0]["resource"]["id"] == str(gnb.pk)


@pytest.mark.django_db
def test_noc_registers_and_patches_resources(noc_api):
    specification = ResourceSpecificationFactory(name="Router spec", resource_kind="router")

    response = noc_api.post(
        RESOURCES,
        {
            "name": "edge-1",
            "@type": "Equipment",
            "resourceSpecification": {"id": str(specification.pk)},
        },
        format="json",
    )

    assert response.status_code == 201, response.data
    assert response["Location"] == response.data["href"]
    resource = Resource.objects.get(name="edge-1")
    assert (resource.category, resource.resource_kind) == ("physical", "router")

    response = noc_api.patch(
        f"{RESOURCES}/{resource.pk}",
        {"administrativeState": "locked", "operationalState": "disable"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.data["administrativeState"], response.data["operationalState"]) == (
        "locked",
        "disable",
    )
    response = noc_api.post(
        RESOURCES,
        {
            "name": "vlan-10",
            "@type": "LogicalResource",
            "resourceCharacteristic": [{"name": "resourceKind", "value": "vlan"}],
        },
        format="json",
    )
    assert response.status_code == 201
    assert (response.data["@type"], response.data["@baseType"]) == ("Vlan", "LogicalResource")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        # TMF639: no @type is the base type Resource (test_tmf_conformance.py).
        ({"name": "x", "@type": "Router"}, "@type"),
        ({"@type": "Equipment"}, "name"),
        ({"name": "x", "@type": "Equipment"}, "resourceSpecification"),
        (
            {"name": "x", "@type": "Equipment", "resourceSpecification": {"id": "0"}},
            "resourceSpecification.id",
        ),
    ],
)
def test_bad_resource_bodies_are_refused(noc_api, body, field):
    response = noc_api.post(RESOURCES, body, format="json")

    assert response.status_code == 400
    assert list(response.data["errors"]) == [field]
    assert Resource.objects.count() == 0


@pytest.mark.django_db
def test_patch_refuses_other_attributes_and_bad_values(noc_api):
    gnb = GnbFactory()

    assert noc_api.patch(f"{RESOURCES}/{gnb.pk}", {"name": "y"}, format="json").status_code == 400
    response = noc_api.patch(f"{RESOURCES}/{gnb.pk}", {"usageState": "sleepy"}, format="json")
    assert response.status_code == 400
    gnb.refresh_from_db()
    assert (gnb.name, gnb.usage_state) == (gnb.name, "idle")


@pytest.mark.django_db
def test_roles(agent_api, finance_api, noc_api, anonymous_api):
    gnb = GnbFactory()
    body = {
        "name": "x",
        "@type": "Equipment",
        "resourceCharacteristic": [{"name": "resourceKind", "value": "gnb"}],
    }

    for path in (PRODUCTS, SERVICES, RESOURCES):
        assert anonymous_api.get(path).status_code == 401
        assert agent_api.get(path).status_code == 200
        assert finance_api.get(path).status_code == 200
        assert noc_api.get(path).status_code == 200
    assert agent_api.post(RESOURCES, body, format="json").status_code == 403
    assert (
        finance_api.patch(
            f"{RESOURCES}/{gnb.pk}", {"usageState": "busy"}, format="json"
        ).status_code
        == 403
    )
    assert Resource.objects.count() == 1
