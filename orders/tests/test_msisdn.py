"""Mobile products get an MSISDN and a SIM: the catalog's "5G RAN access" RFS names them, the
reserve step takes one of each from the pools, a real worker runs the workflow."""

from django.urls import reverse

from catalog.choices import ResourceKind
from catalog.models import ServiceSpecification
from catalog.tests.factories import ResourceSpecificationFactory
from inventory import services as inventory_services
from inventory.choices import BindingState
from inventory.models import Resource, Service, ServiceResource
from orders.models import ProductOrder
from orders.tests.factories import five_g_world
from orders.tests.test_workflow_resilience import (
    ORDERS,
    _submit,
    _submit_together,
    _wait_final,
)

SERVICES = "/tmf-api/serviceInventory/v4/service"


def mobile_world(*, numbers: int = 10, gnb_capacity_mbps: int = 10000):
    """`five_g_world` whose RAN access RFS also binds an MSISDN and a SIM, with the pools."""
    offering, account, gnb = five_g_world(gnb_capacity_mbps=gnb_capacity_mbps)
    ran = ServiceSpecification.objects.get(name="5G RAN access")
    ran.resource_specifications.add(
        ResourceSpecificationFactory(name="MSISDN", resource_kind=ResourceKind.MSISDN),
        ResourceSpecificationFactory(name="SIM card", resource_kind=ResourceKind.SIM),
    )
    inventory_services.msisdn_range_create(name="MSISDN-TEST", first="447700900000", count=numbers)
    inventory_services.sim_stock_create(
        name="SIM-TEST", first_iccid="8944000000000000001", first_imsi="234150000000001", count=10
    )
    return offering, account, gnb


def _held(kind: str):
    return ServiceResource.objects.exclude(state=BindingState.RELEASED).filter(
        resource__resource_kind=kind
    )


def test_mobile_order_gets_a_number_and_a_sim_shown_everywhere(
    celery_worker, agent_api, agent_client
):
    offering, account, _ = mobile_world()

    order_id = _submit(agent_api, offering, account)

    assert _wait_final([order_id]) == {order_id: "completed"}
    ran = Service.objects.get(service_specification__name="5G RAN access")
    number = _held(ResourceKind.MSISDN).get()
    sim = _held(ResourceKind.SIM).get()
    assert (number.service, number.state, number.resource.value) == (ran, "active", "447700900000")
    assert (sim.service, sim.state, sim.resource.value) == (ran, "active", "8944000000000000001")
    # TMF638: the RFS and its CFS list both as supporting resources.
    body = agent_api.get(f"{SERVICES}/{ran.pk}").json()
    names = {ref["name"] for ref in body["supportingResource"]}
    assert {"msisdn-447700900000", "sim-8944000000000000001"} <= names
    body = agent_api.get(f"{SERVICES}/{ran.parent_id}").json()
    assert "msisdn-447700900000" in {ref["name"] for ref in body["supportingResource"]}
    # The customer 360 products block shows the number beside the product.
    customer_id = account.customer_id
    fragment = agent_client.get(reverse("crm:customer-products", args=[customer_id]))
    assert "MSISDN +447700900000" in fragment.content.decode()
    # The portal search finds the customer by the number, with or without the +.
    for query in ("+447700900000", "447700900000"):
        html = agent_client.get(reverse("crm:portal-search-results"), {"q": query})
        assert f'href="/portal/customers/{customer_id}/"' in html.content.decode()

    # Terminating the product gives the number and the SIM back to their pools.
    product_id = ProductOrder.objects.get(pk=order_id).items.get().product_id
    body = {
        "productOrderItem": [{"id": "1", "action": "delete", "product": {"id": str(product_id)}}],
        "relatedParty": [{"id": str(customer_id), "@referredType": "Customer"}],
    }
    response = agent_api.post(ORDERS, body, format="json")
    assert response.status_code == 201, response.data
    assert _wait_final([response.data["id"]]) == {response.data["id"]: "completed"}
    assert not _held(ResourceKind.MSISDN).exists()
    assert not _held(ResourceKind.SIM).exists()
    assert Resource.objects.get(value="447700900000").resource_status == "available"


def test_no_free_number_fails_the_order_with_nothing_reserved(celery_worker, agent_api):
    offering, account, _ = mobile_world(numbers=1)
    Resource.objects.filter(resource_kind=ResourceKind.MSISDN).update(administrative_state="locked")

    order_id = _submit(agent_api, offering, account)

    assert _wait_final([order_id]) == {order_id: "failed"}
    order = ProductOrder.objects.get(pk=order_id)
    assert "No free msisdn is left in any msisdnPool." in order.failure_reason
    assert not ServiceResource.objects.exclude(state=BindingState.RELEASED).exists()
    assert set(Service.objects.values_list("state", flat=True)) == {"terminated"}


def test_concurrent_orders_never_share_a_number(second_celery_worker):
    # Eight orders on two workers for a range of ten numbers: eight distinct numbers and SIMs.
    offering, _, _ = mobile_world(numbers=10)
    order_ids = _submit_together(offering, 8)

    states = _wait_final(order_ids, timeout=60)

    assert sorted(states.values()) == ["completed"] * 8
    for kind in (ResourceKind.MSISDN, ResourceKind.SIM):
        held = _held(kind)
        assert held.count() == 8
        assert held.values("resource").distinct().count() == 8
        assert held.values("service").distinct().count() == 8
