"""The order-to-activation flow, run by a real Celery worker against the lab network."""

from inventory.choices import BindingState
from inventory.models import Resource, ServiceResource
from orders.models import ActivationStep
from orders.tests.factories import five_g_world, product_order_body
from telco.testing import wait_for

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def _submit(agent_api, offering, account):
    response = agent_api.post(
        ORDERS,
        product_order_body(offering_id=offering.pk, party_id=account.customer_id),
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["state"] == "acknowledged"
    return response.data["id"]


def _wait_final(agent_api, order_id):
    def final():
        body = agent_api.get(f"{ORDERS}/{order_id}").data
        return body if body["state"] in ("completed", "failed") else None

    return wait_for(final, timeout=30)


def test_order_completes_and_activates_product_service_and_resources(celery_worker, agent_api, lab):
    offering, account, gnb = five_g_world()
    order_id = _submit(agent_api, offering, account)

    order = _wait_final(agent_api, order_id)

    assert order["state"] == "completed"
    assert order["completionDate"] is not None
    item = order["productOrderItem"][0]
    assert item["state"] == "completed"
    product_id = item["product"]["id"]
    product = agent_api.get(f"/tmf-api/productInventory/v4/product/{product_id}").data
    assert product["status"] == "active"
    assert product["productCharacteristic"] == [{"name": "bandwidth", "value": "1Gbps"}]
    assert len(product["realizingService"]) == 1
    service_id = product["realizingService"][0]["id"]
    service = agent_api.get(f"/tmf-api/serviceInventory/v4/service/{service_id}").data
    assert service["state"] == "active"
    assert service["startDate"] == product["startDate"]
    assert service["category"] == "CFS"
    assert [r["name"] for r in service["supportingResource"]] == [gnb.name, f"slice-{service_id}"]
    # The catalog realises the CFS by two RFS: RAN access on the gNB, the network slice.
    ran, network_slice = service["supportingService"]
    assert (ran["category"], ran["state"], ran["serviceSpecification"]["name"]) == (
        "RFS",
        "active",
        "5G RAN access",
    )
    assert [r["name"] for r in ran["supportingResource"]] == [gnb.name]
    assert network_slice["serviceSpecification"]["name"] == "5G network slice"
    assert [r["name"] for r in network_slice["supportingResource"]] == [f"slice-{service_id}"]
    assert set(
        ServiceResource.objects.filter(service__parent_id=service_id).values_list(
            "state", flat=True
        )
    ) == {BindingState.ACTIVE}
    slice_resource = Resource.objects.get(name=f"slice-{service_id}")
    assert slice_resource.parent == gnb
    steps = ActivationStep.objects.filter(item__service_id=service_id).order_by("sequence")
    assert [(s.name, s.state, s.attempts) for s in steps] == [
        ("Design, reserve gNB capacity, allocate slice", "done", 1),
        (f"Configure {gnb.name}", "done", 1),
        (f"Configure {slice_resource.name}", "done", 1),
        ("Verify configuration", "done", 1),
        ("Activate service", "done", 1),
    ]
    assert lab.configured() == {gnb.name: {ran["id"]}, slice_resource.name: {network_slice["id"]}}
    service_orders = agent_api.get(order["serviceOrder"][0]["href"]).data
    assert service_orders["state"] == "completed"
