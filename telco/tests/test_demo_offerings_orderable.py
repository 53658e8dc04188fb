"""Every launched offering of the demo catalog can be ordered and completes (issue 9).

Fibre and Enterprise Ethernet orders used to stay `inProgress` for ever: their services never
passed through `reserved` (nothing to reserve on a gNB) and the worker's activation step raised
`InvalidTransition: designed -> active`. The catalog and network are the demo's own
(`catalog.demo`, `inventory.demo`), the orders go through TMF622 and run in the real worker.
"""

import random
import time

from billing.demo import ensure_prepaid_plans
from billing.models import PrepaidBucket
from catalog.choices import LifecycleStatus
from catalog.demo import ensure_catalog
from catalog.models import ProductOffering
from crm.tests.factories import BillingAccountFactory
from inventory.demo import ensure_network
from inventory.models import ServiceStateChange
from inventory.selectors import sites_with_edge_router
from telco.testing import wait_for

ORDER = "/tmf-api/productOrderingManagement/v4/productOrder"
PRODUCT = "/tmf-api/productInventory/v4/product"
SERVICE = "/tmf-api/serviceInventory/v4/service"
FINAL = {"completed", "failed", "partial", "cancelled", "rejected"}


def _order_body(offering: ProductOffering, account, sites: list[str]) -> dict:
    # No characteristics: every product takes its specification's default bandwidth. The
    # enterprise offerings name their sites (places): two for the VPN, one for Ethernet.
    item = {"id": "1", "action": "add", "productOffering": {"id": str(offering.pk)}}
    places = {"Enterprise VPN": sites[:2], "Enterprise Ethernet": sites[2:3]}.get(offering.name)
    if places:
        item["product"] = {"place": [{"id": site, "role": "vpnSite"} for site in places]}
    return {
        "productOrderItem": [item],
        "relatedParty": [{"id": str(account.customer_id), "@referredType": "Customer"}],
        "billingAccount": {"id": str(account.pk)},
    }


def _services_of(api, product_id: str) -> list[dict]:
    """The product's services, customer- and resource-facing, and those of bundled products."""
    product = api.get(f"{PRODUCT}/{product_id}").data
    services = []
    for reference in product["realizingService"]:
        service = api.get(f"{SERVICE}/{reference['id']}").data
        services.append(service)
        services.extend(service["supportingService"])
    for related in product["productRelationship"]:
        if related["relationshipType"] == "bundles":
            services.extend(_services_of(api, related["product"]["id"]))
    return services


def test_every_launched_demo_offering_is_orderable_and_completes(celery_worker, agent_api):
    ensure_catalog()
    ensure_prepaid_plans()
    ensure_network(random.Random(7), 10)
    offerings = list(
        ProductOffering.objects.filter(lifecycle_status=LifecycleStatus.LAUNCHED).order_by("pk")
    )
    assert {offering.name for offering in offerings} == {
        "5G Premium",
        "5G Essential",
        "Fibre 500",
        "Fibre 1000",
        "Enterprise Ethernet",
        "Enterprise VPN",
        "5G Premium Annual",
        "5G + Fibre Home Bundle",
        "5G Prepaid 20 GB",
    }
    accounts = {
        segment: BillingAccountFactory(customer__segment=segment)
        for segment in ("consumer", "enterprise")
    }

    sites = [str(site.pk) for site in sites_with_edge_router()[:3]]
    deadline = time.monotonic() + 90
    submitted = {}
    for offering in offerings:
        segment = "consumer" if offering.is_eligible_for("consumer") else "enterprise"
        body = _order_body(offering, accounts[segment], sites)
        response = agent_api.post(ORDER, body, format="json")
        assert response.status_code == 201, (offering.name, response.data)
        submitted[offering.name] = response.data["id"]

    def current():
        return {name: agent_api.get(f"{ORDER}/{pk}").data for name, pk in submitted.items()}

    def all_final():
        return all(order["state"] in FINAL for order in current().values())

    # A stuck order is reported by its state rather than as a timeout.
    wait_for(lambda: all_final() or time.monotonic() > deadline, timeout=120)
    orders = current()
    assert {name: order["state"] for name, order in orders.items()} == {
        name: "completed" for name in submitted
    }, orders
    for name, order in orders.items():
        product_id = order["productOrderItem"][0]["product"]["id"]
        product = agent_api.get(f"{PRODUCT}/{product_id}").data
        assert product["status"] == "active", name
        # A prepaid product starts with its balances (the seeds' "notifies OCS").
        buckets = PrepaidBucket.objects.filter(product_id=product_id).count()
        assert (buckets > 0) == (name == "5G Prepaid 20 GB"), (name, buckets)
        services = _services_of(agent_api, product_id)
        assert services, name
        assert {service["state"] for service in services} == {"active"}, name
        # Every service took the legal road: designed, reserved, then active.
        for service in services:
            moves = list(
                ServiceStateChange.objects.filter(service_id=service["id"])
                .order_by("pk")
                .values_list("to_state", flat=True)
            )
            assert moves == ["feasibilityChecked", "designed", "reserved", "active"], (name, moves)
