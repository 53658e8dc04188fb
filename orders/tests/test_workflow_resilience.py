"""The activation workflow under failure, run by a real Celery worker against the lab network:
transient errors retried, permanent ones compensated, a worker killed mid-step, races."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.db.models import Sum

from crm.tests.factories import BillingAccountFactory
from inventory.choices import BindingState
from inventory.models import ProductInstance, Resource, ServiceResource
from orders import services, tasks
from orders.models import ActivationStep, ProductOrder
from orders.services import ItemRequest, PartyRequest
from orders.tests.factories import five_g_world, product_order_body
from telco.testing import wait_for

ORDERS = "/tmf-api/productOrderingManagement/v4/productOrder"


def _submit(agent_api, offering, account, bandwidth="1Gbps") -> str:
    body = product_order_body(
        offering_id=offering.pk, party_id=account.customer_id, bandwidth=bandwidth
    )
    response = agent_api.post(ORDERS, body, format="json")
    assert response.status_code == 201, response.data
    return response.data["id"]


def _submit_together(offering, count: int) -> list[str]:
    """`count` 100 Mbps orders of new customers, accepted together (each feasible on its own)
    and enqueued together when the block commits, so the workers race."""
    with transaction.atomic():
        return [
            str(
                services.product_order_submit(
                    items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "100Mbps"})],
                    parties=[PartyRequest(str(BillingAccountFactory().customer_id), "Customer")],
                ).pk
            )
            for _ in range(count)
        ]


def _wait_final(order_ids, timeout=40) -> dict[str, str]:
    final = {"completed", "failed", "partial"}

    def all_final():
        states = dict(ProductOrder.objects.filter(pk__in=order_ids).values_list("pk", "state"))
        return states if set(states.values()) <= final else None

    return {str(pk): state for pk, state in wait_for(all_final, timeout=timeout).items()}


def _configs_per_element_and_service(lab) -> set[int]:
    """How many times each element took a configuration of each service (replays excluded)."""
    counts = {}
    for element in lab.configured():
        for change in lab.changes(element):
            key = (element, change["service"], change["operation"])
            counts[key] = counts.get(key, 0) + 1
    return set(counts.values())


def test_transient_failure_is_retried_to_success(celery_worker, agent_api, lab):
    offering, account, gnb = five_g_world()
    call_command("labnet", "fail", gnb.name, "--mode", "transient:2")

    order_id = _submit(agent_api, offering, account)

    assert _wait_final([order_id]) == {order_id: "completed"}
    step = ActivationStep.objects.get(operation="configure", resource=gnb)
    assert (step.state, step.attempts, step.last_error) == ("done", 3, "")
    assert _configs_per_element_and_service(lab) == {1}
    assert ProductInstance.objects.get().status == "active"


def test_permanent_failure_is_compensated_with_nothing_left_reserved(celery_worker, agent_api, lab):
    offering, account, gnb = five_g_world()
    call_command("labnet", "fail", gnb.name, "--mode", "permanent")

    order_id = _submit(agent_api, offering, account)

    assert _wait_final([order_id]) == {order_id: "failed"}
    order = agent_api.get(f"{ORDERS}/{order_id}").data
    reason = (
        f"Step 2 'Configure {gnb.name}' failed: {gnb.name}: configuration rejected by the element."
    )
    assert order["note"] == [{"text": reason, "author": "activation-workflow", "@type": "Note"}]
    assert order["productOrderItem"][0]["state"] == "failed"
    assert not ServiceResource.objects.exclude(state=BindingState.RELEASED).exists()
    assert set(Resource.objects.filter(resource_kind="slice").values_list("resource_status")) == {
        ("standby",)
    }
    product = ProductInstance.objects.get(product_order_id=order_id)
    assert (product.status, product.start_date) == ("aborted", None)
    assert {service.state for service in product.services.get().children.all()} == {"terminated"}
    assert lab.configured() == {}


def test_worker_killed_mid_configure_resumes_without_configuring_twice(
    restartable_celery_worker, agent_api, lab
):
    offering, account, gnb = five_g_world()
    # A slow gNB (1.5 s each way, the driver waiting long enough) and a 1 s step deadline: the
    # kill lands after the gNB has applied the configuration and before the worker heard back.
    lab.latency(3000, gnb.name)
    restartable_celery_worker.restart(LABNET_TIMEOUT_SECONDS=10, ACTIVATION_STEP_TIMEOUT_SECONDS=1)
    order_id = _submit(agent_api, offering, account)

    wait_for(lambda: lab.config(gnb.name), timeout=30)
    restartable_celery_worker.kill()
    lab.latency(None, gnb.name)
    step = ActivationStep.objects.get(operation="configure", resource=gnb)
    assert (step.state, step.attempts) == ("running", 1)
    assert ProductOrder.objects.get(pk=order_id).state == "inProgress"

    restartable_celery_worker.restart()
    # The watchdog (beat, every two minutes) finds the step past its deadline and resumes.
    tasks.resume_stalled_orders.delay()

    assert _wait_final([order_id]) == {order_id: "completed"}
    step.refresh_from_db()
    assert (step.state, step.attempts) == ("done", 2)
    assert _configs_per_element_and_service(lab) == {1}
    assert len(lab.changes(gnb.name)) == 1
    assert set(ServiceResource.objects.values_list("state", flat=True)) == {"active"}


def test_concurrent_orders_never_share_a_resource(second_celery_worker):
    # Room for five 100 Mbps slices on the only gNB; ten orders race for it on two workers.
    offering, _, gnb = five_g_world(gnb_capacity_mbps=500)
    order_ids = _submit_together(offering, 10)

    states = _wait_final(order_ids, timeout=60)

    assert sorted(states.values()) == ["completed"] * 5 + ["failed"] * 5
    held = ServiceResource.objects.exclude(state=BindingState.RELEASED)
    assert held.filter(resource=gnb).aggregate(total=Sum("capacity_mbps"))["total"] == 500
    slices = held.filter(resource__resource_kind="slice")
    assert slices.count() == 5
    assert slices.values("resource").distinct().count() == 5
    assert slices.values("service").distinct().count() == 5
    # The database itself refuses a second hold on an exclusive resource.
    taken = slices.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceResource.objects.create(
            service=slices.last().service,
            resource=taken.resource,
            is_exclusive=True,
            state=BindingState.RESERVED,
        )
