"""The order-to-activation flow, run by a real Celery worker against the lab network."""

from django.core.management import call_command

from inventory.choices import BindingState
from inventory.models import ProductInstance, Resource, ServiceResource
from orders.models import ActivationStep, LabElementConfig, ProductOrder
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


def test_order_completes_and_activates_product_service_and_resources(celery_worker, agent_api):
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
    assert {r["name"] for r in service["supportingResource"]} == {gnb.name, f"slice-{service_id}"}
    assert set(
        ServiceResource.objects.filter(service_id=service_id).values_list("state", flat=True)
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
    assert LabElementConfig.objects.filter(service_ref=service_id, is_active=True).count() == 2
    service_orders = agent_api.get(order["serviceOrder"][0]["href"]).data
    assert service_orders["state"] == "completed"


def test_permanent_failure_on_gnb_fails_order_and_releases_everything(celery_worker, agent_api):
    offering, account, gnb = five_g_world()
    call_command("labnet", "fail", gnb.name, "--mode", "permanent")
    order_id = _submit(agent_api, offering, account)

    order = _wait_final(agent_api, order_id)

    assert order["state"] == "failed"
    reason = (
        f"Step 2 'Configure {gnb.name}' failed: {gnb.name}: configuration rejected by the element."
    )
    assert order["note"] == [{"text": reason, "author": "activation-workflow", "@type": "Note"}]
    assert order["productOrderItem"][0]["state"] == "failed"
    assert ProductOrder.objects.get(pk=order_id).failure_reason == reason
    assert not ServiceResource.objects.exclude(state=BindingState.RELEASED).exists()
    product = ProductInstance.objects.get(product_order_id=order_id)
    assert product.status == "aborted"
    assert product.start_date is None
    assert list(product.services.values_list("state", flat=True)) == ["terminated"]
    assert not LabElementConfig.objects.filter(is_active=True).exists()


def test_transient_failures_are_retried_until_completed(celery_worker, agent_api):
    offering, account, gnb = five_g_world()
    call_command("labnet", "fail", gnb.name, "--mode", "transient:2")
    order_id = _submit(agent_api, offering, account)

    order = _wait_final(agent_api, order_id)

    assert order["state"] == "completed"
    step = ActivationStep.objects.get(operation="configure", resource=gnb)
    assert (step.state, step.attempts, step.last_error) == ("done", 3, "")
