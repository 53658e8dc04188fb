"""TMF622 cancelProductOrder and TMF641 cancelServiceOrder: the point of no return, roles."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import ServiceSpecification
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance, ServiceResource
from inventory.network.base import TransientNetworkError
from orders import services
from orders.models import (
    ActivationStep,
    CancelProductOrder,
    CancelServiceOrder,
    ProductOrder,
    ServiceOrder,
)
from orders.services import ItemRequest, PartyRequest, workflow
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run

CANCEL_PRODUCT_ORDER = "/tmf-api/productOrderingManagement/v4/cancelProductOrder"
CANCEL_SERVICE_ORDER = "/tmf-api/serviceOrdering/v4/cancelServiceOrder"


def _submit(offering, account, bandwidth="500Mbps") -> ProductOrder:
    # In a `db` test on_commit callbacks never fire: the order stays acknowledged.
    return services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": bandwidth})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )


def _history(order) -> list[tuple[str, str]]:
    return [(row.from_state, row.to_state) for row in order.history.all()]


def _nothing_held():
    assert not ServiceResource.objects.exclude(state="released").exists()


@pytest.mark.django_db
def test_acknowledged_order_is_cancelled(agent_api):
    offering, account, _ = five_g_world()
    order = _submit(offering, account)
    body = {"productOrder": {"id": str(order.pk)}, "cancellationReason": "Customer changed mind"}

    response = agent_api.post(CANCEL_PRODUCT_ORDER, body, format="json")

    assert response.status_code == 201, response.data
    task = CancelProductOrder.objects.get()
    assert response["Location"] == response.data["href"]
    assert response.data["id"] == str(task.pk)
    assert response.data["state"] == "done"
    assert response.data["@type"] == "CancelProductOrder"
    assert response.data["productOrder"]["state"] == "cancelled"
    assert response.data["effectiveCancellationDate"] is not None
    order.refresh_from_db()
    assert order.state == "cancelled"
    assert _history(order) == [
        ("", "acknowledged"),
        ("acknowledged", "assessingCancellation"),
        ("assessingCancellation", "pendingCancellation"),
        ("pendingCancellation", "cancelled"),
    ]
    assert order.history.last().changed_by == "agent1"
    assert set(order.items.values_list("state", flat=True)) == {"cancelled"}
    # Never decomposed: nothing was created or reserved, and the worker has nothing to do.
    assert ProductInstance.objects.count() == 0
    _nothing_held()
    services.product_order_process(product_order_id=order.pk)
    order.refresh_from_db()
    assert order.state == "cancelled"
    assert ServiceOrder.objects.count() == 0


@pytest.mark.django_db
def test_cancelled_while_reserving_releases_and_stops_the_workflow(monkeypatch, lab):
    """Cancelled right after the reservation: capacity returns, the worker configures nothing."""
    offering, account, gnb = five_g_world()
    order = _submit(offering, account)
    services.product_order_process(product_order_id=order.pk)
    service_order = ServiceOrder.objects.get()
    tasks = []
    reserve = workflow._step_reserve

    def reserve_then_cancel(order_being_run, step, later):
        done = reserve(order_being_run, step, later)
        assert gnb.bindings.filter(state="reserved").count() == 1
        tasks.append(services.product_order_cancel(order_id=str(order.pk), by="agent1"))
        return done

    monkeypatch.setattr(workflow, "_step_reserve", reserve_then_cancel)

    services.service_order_run(service_order_id=service_order.pk)

    assert tasks[0].state == "done"
    order.refresh_from_db()
    service_order.refresh_from_db()
    assert order.state == service_order.state == "cancelled"
    assert _history(order)[-3:] == [
        ("inProgress", "assessingCancellation"),
        ("assessingCancellation", "pendingCancellation"),
        ("pendingCancellation", "cancelled"),
    ]
    assert _history(service_order)[-1] == ("pendingCancellation", "cancelled")
    assert ProductInstance.objects.get().status == "cancelled"
    _nothing_held()
    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(s.operation, s.state, s.attempts) for s in steps] == [
        ("reserve", "compensated", 1),
        ("configure", "pending", 0),
        ("configure", "pending", 0),
        ("verify", "pending", 0),
        ("activate", "pending", 0),
    ]
    assert lab.elements() == []


@pytest.mark.django_db
def test_completed_order_is_refused_and_unchanged(agent_api):
    offering, account, _ = five_g_world()
    order = submit_and_run(offering, account)
    assert order.state == "completed"
    history = _history(order)
    body = {"productOrder": {"id": str(order.pk)}}

    response = agent_api.post(CANCEL_PRODUCT_ORDER, body, format="json")

    # TMF622: the task is a resource of its own; a refusal is that task terminatedWithError.
    assert response.status_code == 201, response.data
    assert response.data["state"] == "terminatedWithError"
    assert "completed" in response.data["errorMessage"]
    assert response.data["effectiveCancellationDate"] is None
    order.refresh_from_db()
    assert order.state == "completed"
    assert _history(order) == history
    assert ProductInstance.objects.get().status == "active"
    assert set(ServiceResource.objects.values_list("state", flat=True)) == {"active"}


@pytest.mark.django_db
def test_order_that_tried_to_configure_the_network_is_refused():
    offering, account, gnb = five_g_world()
    order = _submit(offering, account)
    services.product_order_process(product_order_id=order.pk)
    service_order = ServiceOrder.objects.get()
    call_command("labnet", "fail", gnb.name, "--mode", "transient:1")
    with pytest.raises(TransientNetworkError):
        services.service_order_run(service_order_id=service_order.pk)

    task = services.product_order_cancel(order_id=str(order.pk), by="agent1")

    assert task.state == "terminatedWithError"
    assert "configuring the network" in task.error_message
    order.refresh_from_db()
    assert order.state == "inProgress"
    assert ProductInstance.objects.get().status == "pendingActive"
    assert gnb.bindings.get().state == "reserved"
    services.service_order_run(service_order_id=service_order.pk)
    order.refresh_from_db()
    assert order.state == "completed"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "productOrder"),
        ({"productOrder": {}}, "productOrder"),
        ({"productOrder": {"id": "999999"}}, "productOrder.id"),
        ({"productOrder": {"id": "abc"}}, "productOrder.id"),
    ],
)
def test_bad_input_is_refused(agent_api, body, field):
    response = agent_api.post(CANCEL_PRODUCT_ORDER, body, format="json")

    assert response.status_code == 400, response.data
    assert field in str(response.data)
    assert CancelProductOrder.objects.count() == 0


@pytest.mark.django_db
def test_roles(agent_api, noc_api, finance_api, anonymous_api):
    offering, account, _ = five_g_world()
    order = _submit(offering, account)
    body = {"productOrder": {"id": str(order.pk)}}

    assert anonymous_api.get(CANCEL_PRODUCT_ORDER).status_code == 401
    assert anonymous_api.post(CANCEL_PRODUCT_ORDER, body, format="json").status_code == 401
    assert noc_api.post(CANCEL_PRODUCT_ORDER, body, format="json").status_code == 403
    assert finance_api.post(CANCEL_PRODUCT_ORDER, body, format="json").status_code == 403
    service_body = {"serviceOrder": {"id": "1"}}
    assert agent_api.post(CANCEL_SERVICE_ORDER, service_body, format="json").status_code == 403
    assert CancelProductOrder.objects.count() == CancelServiceOrder.objects.count() == 0
    order.refresh_from_db()
    assert order.state == "acknowledged"
    for api in (agent_api, noc_api, finance_api):
        assert api.get(CANCEL_PRODUCT_ORDER).status_code == 200
    assert finance_api.get(CANCEL_SERVICE_ORDER).status_code == 403


@pytest.mark.django_db
def test_service_order_cancel(noc_api):
    offering, account, gnb = five_g_world()
    specification = ServiceSpecification.objects.get(name="5G Slice Service")
    direct = services.service_order_submit(
        items=[ItemRequest("1", "add", str(specification.pk), {"bandwidth": "100Mbps"})]
    )
    order = _submit(offering, account)
    services.product_order_process(product_order_id=order.pk)
    decomposed = ServiceOrder.objects.get(product_order=order)

    done = noc_api.post(
        CANCEL_SERVICE_ORDER, {"serviceOrder": {"id": str(direct.pk)}}, format="json"
    )
    refused = noc_api.post(
        CANCEL_SERVICE_ORDER, {"serviceOrder": {"id": str(decomposed.pk)}}, format="json"
    )
    unknown = noc_api.post(CANCEL_SERVICE_ORDER, {"serviceOrder": {"id": "0"}}, format="json")

    assert done.status_code == 201, done.data
    assert done.data["state"] == "done"
    assert done.data["serviceOrder"]["state"] == "cancelled"
    direct.refresh_from_db()
    assert direct.state == "cancelled"
    assert direct.items.get().service.state == "terminated"
    assert refused.status_code == 201
    assert refused.data["state"] == "terminatedWithError"
    assert "cancel the product order" in refused.data["errorMessage"]
    decomposed.refresh_from_db()
    assert decomposed.state == "acknowledged"
    assert unknown.status_code == 400
    assert "serviceOrder.id" in str(unknown.data)
    services.service_order_run(service_order_id=direct.pk)
    assert not gnb.bindings.exists()


def _count(api, path, rows):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(path)
    assert response.status_code == 200
    assert len(response.data) == rows
    return len(queries)


@pytest.mark.django_db
def test_list_query_count_does_not_grow(agent_api):
    offering, _, _ = five_g_world()

    def cancel_one():
        order = _submit(offering, BillingAccountFactory())
        services.product_order_cancel(order_id=str(order.pk), by="agent1")

    for _ in range(2):
        cancel_one()
    small = _count(agent_api, CANCEL_PRODUCT_ORDER, 2)
    for _ in range(3):
        cancel_one()
    assert _count(agent_api, CANCEL_PRODUCT_ORDER, 5) == small
