"""Fallout: exhausted retries and timed-out steps hold the order; the NOC retries or fails it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog import demo as catalog_demo
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance, Service, ServiceResource
from inventory.network.base import TransientNetworkError
from inventory.tests.factories import fibre_access
from orders import selectors, services
from orders.models import ActivationStep, ProductOrder, ServiceOrder
from orders.services import ACTIVATION_MAX_ATTEMPTS, ItemRequest, PartyRequest
from orders.tests.factories import five_g_world
from orders.tests.test_workflow import submit_and_run
from telco import clock
from telco.exceptions import Conflict, InvalidTransition, NotFound

ACTIONS = "/api/v1/orders/serviceOrder"


def _submit(offering, account, bandwidth="500Mbps") -> ProductOrder:
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": bandwidth})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    return order


def _run_until_stopped(service_order: ServiceOrder) -> int:
    """Run the workflow as the worker would, retrying transient errors; returns the retries."""
    retries = 0
    while True:
        try:
            services.service_order_run(service_order_id=service_order.pk)
        except TransientNetworkError:
            retries += 1
            continue
        return retries


@pytest.fixture
def held(db):
    offering, account, gnb = five_g_world()
    call_command("labnet", "fail", gnb.name, "--mode", f"transient:{ACTIVATION_MAX_ATTEMPTS}")
    order = _submit(offering, account)
    service_order = order.service_orders.get()
    retries = _run_until_stopped(service_order)
    assert retries == ACTIVATION_MAX_ATTEMPTS - 1
    service_order.refresh_from_db()
    return order, service_order, gnb


def test_exhausted_retries_hold_the_order_with_the_reason(held):
    order, service_order, gnb = held
    step = ActivationStep.objects.get(item__order=service_order, resource=gnb)
    reason = (
        f"Step 2 'Configure {gnb.name}' failed: {gnb.name}: element busy, try again. "
        f"(gave up after {ACTIVATION_MAX_ATTEMPTS} attempts)"
    )

    assert service_order.state == "held"
    assert service_order.failure_reason == reason
    assert (step.state, step.attempts) == ("failed", ACTIVATION_MAX_ATTEMPTS)
    assert step.last_error.startswith(f"{gnb.name}: element busy")
    assert list(service_order.history.values_list("to_state", "reason"))[-1] == ("held", reason)
    # Nothing is given back while the NOC decides: the reservation still stands.
    assert ServiceResource.objects.filter(state="reserved").count() == 2
    order.refresh_from_db()
    assert order.state == "inProgress"
    # A held order is not the watchdog's business.
    ServiceOrder.objects.filter(pk=service_order.pk).update(
        last_update=clock.now() - timedelta(hours=1)
    )
    assert services.stalled_orders_resume() == []


def test_retry_resumes_from_the_failed_step_and_completes(held):
    order, service_order, gnb = held

    returned = services.service_order_retry(service_order_id=service_order.pk, by="noc1")

    assert returned.state == "inProgress"
    assert returned.failure_reason == ""
    step = ActivationStep.objects.get(item__order=service_order, resource=gnb)
    assert (step.state, step.attempts, step.last_error) == ("pending", 0, "")
    history = service_order.history.last()
    assert (history.from_state, history.to_state, history.changed_by) == (
        "held",
        "inProgress",
        "noc1",
    )
    services.service_order_run(service_order_id=service_order.pk)
    service_order.refresh_from_db()
    order.refresh_from_db()
    assert (service_order.state, order.state) == ("completed", "completed")
    step.refresh_from_db()
    assert (step.state, step.attempts) == ("done", 1)
    assert ProductInstance.objects.get().status == "active"


def test_fail_compensates_releases_and_fails_the_product_order(held, lab):
    order, service_order, _ = held
    returned = services.service_order_fail(
        service_order_id=service_order.pk, by="noc1", reason="Cell site under maintenance"
    )

    assert returned.state == "failed"
    assert returned.failure_reason == "Failed by noc1: Cell site under maintenance"
    order.refresh_from_db()
    assert order.state == "failed"
    assert order.failure_reason == "Failed by noc1: Cell site under maintenance"
    assert not ServiceResource.objects.exclude(state="released").exists()
    product = ProductInstance.objects.get()
    assert product.status == "aborted"
    assert product.history.last().changed_by == "noc1"
    assert lab.configured() == {}
    assert [h.to_state for h in service_order.history.all()][-2:] == ["held", "failed"]


def test_fail_undoes_what_was_configured(db, lab):
    offering, account, gnb = five_g_world()
    order = _submit(offering, account)
    service_order = order.service_orders.get()
    cfs = service_order.items.get().service
    # The gNB takes its configuration; the slice's element stays busy until the order is held.
    lab.fail(f"slice-{cfs.pk}", f"transient:{ACTIVATION_MAX_ATTEMPTS}")
    _run_until_stopped(service_order)
    service_order.refresh_from_db()
    assert service_order.state == "held"

    services.service_order_fail(service_order_id=service_order.pk, by="noc1", reason="Give up")

    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(s.operation, s.state) for s in steps] == [
        ("reserve", "compensated"),
        ("configure", "compensated"),
        ("configure", "failed"),
        ("verify", "pending"),
        ("activate", "pending"),
    ]
    assert [change["operation"] for change in lab.changes(gnb.name)] == ["put", "delete"]
    assert lab.configured() == {}
    assert not ServiceResource.objects.exclude(state="released").exists()
    assert ProductInstance.objects.get().status == "aborted"


def test_running_step_past_its_deadline_is_retried_then_held(db):
    offering, account, gnb = five_g_world()
    order = _submit(offering, account)
    service_order = order.service_orders.get()
    ServiceOrder.objects.filter(pk=service_order.pk).update(state="inProgress")
    step = ActivationStep.objects.get(item__order=service_order, sequence=1)
    past = clock.now() - timedelta(seconds=1)
    ActivationStep.objects.filter(pk=step.pk).update(state="running", attempts=1, deadline=past)

    assert services.stalled_orders_resume() == [service_order.pk]
    step.refresh_from_db()
    assert (step.state, step.attempts, step.deadline) == ("pending", 1, None)
    assert step.last_error.startswith("No answer before the step's deadline")

    ActivationStep.objects.filter(pk=step.pk).update(
        state="running", attempts=ACTIVATION_MAX_ATTEMPTS, deadline=past
    )
    assert services.stalled_orders_resume() == []
    service_order.refresh_from_db()
    assert service_order.state == "held"
    assert f"(gave up after {ACTIVATION_MAX_ATTEMPTS} attempts)" in service_order.failure_reason


def test_retry_and_fail_refuse_orders_that_are_not_held_or_stalled(db):
    offering, account, _ = five_g_world()
    completed = submit_and_run(offering, account).service_orders.get()
    acknowledged = _submit(offering, BillingAccountFactory()).service_orders.get()
    running = _submit(offering, BillingAccountFactory()).service_orders.get()
    ServiceOrder.objects.filter(pk=running.pk).update(state="inProgress")

    for order in (completed, acknowledged, running):
        with pytest.raises(Conflict):
            services.service_order_retry(service_order_id=order.pk, by="noc1")
        with pytest.raises(Conflict):
            services.service_order_fail(service_order_id=order.pk, by="noc1", reason="x")
    with pytest.raises(NotFound):
        services.service_order_retry(service_order_id=999999, by="noc1")
    completed.refresh_from_db()
    assert completed.state == "completed"


def test_stalled_in_progress_order_can_be_retried(db):
    offering, account, gnb = five_g_world()
    service_order = _submit(offering, account).service_orders.get()
    call_command("labnet", "fail", gnb.name, "--mode", "transient:1")
    with pytest.raises(TransientNetworkError):
        services.service_order_run(service_order_id=service_order.pk)
    # The retry message was lost: no progress for longer than the stall limit.
    ServiceOrder.objects.filter(pk=service_order.pk).update(
        last_update=clock.now() - services.STALL_AFTER - timedelta(seconds=1)
    )

    order = services.service_order_retry(service_order_id=service_order.pk, by="noc1")

    assert order.state == "inProgress"
    assert (order.history.last().from_state, order.history.last().to_state) == (
        "inProgress",
        "inProgress",
    )
    step = ActivationStep.objects.get(item__order=service_order, resource=gnb)
    assert (step.state, step.attempts, step.last_error) == ("pending", 0, "")


@pytest.mark.django_db
def test_api_retry_and_fail(held, noc_api, admin_api, agent_api, finance_api):
    _, service_order, _ = held
    url = f"{ACTIONS}/{service_order.pk}"

    assert agent_api.post(f"{url}/retry").status_code == 403
    assert finance_api.post(f"{url}/fail", {"reason": "x"}, format="json").status_code == 403
    missing = noc_api.post(f"{url}/fail", {}, format="json")
    assert missing.status_code == 400
    assert list(missing.data["errors"]) == ["reason"]
    service_order.refresh_from_db()
    assert service_order.state == "held"

    response = noc_api.post(f"{url}/retry")
    assert response.status_code == 200, response.data
    assert (response.data["id"], response.data["state"]) == (str(service_order.pk), "inProgress")
    conflict = noc_api.post(f"{url}/retry/")
    assert conflict.status_code == 409
    assert conflict.data["code"] == "conflict"
    assert admin_api.post(f"{ACTIONS}/999999/fail", {"reason": "x"}, format="json").status_code == (
        404
    )

    ServiceOrder.objects.filter(pk=service_order.pk).update(state="held")
    response = admin_api.post(f"{url}/fail", {"reason": "Site decommissioned"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["state"] == "failed"
    assert response.data["note"][0]["text"] == "Failed by admin1: Site decommissioned"


def test_activation_queue_shows_current_steps_in_fixed_queries(held):
    _, held_order, gnb = held
    offering = ProductOrder.objects.get().items.get().product_offering
    for _ in range(2):
        _submit(offering, BillingAccountFactory(), bandwidth="100Mbps")
    old_failure = submit_and_run(offering, BillingAccountFactory())
    ServiceOrder.objects.filter(product_order=old_failure).update(
        state="failed", completion_date=clock.now() - timedelta(days=2)
    )

    with CaptureQueriesContext(connection) as queries:
        rows = list(selectors.activation_queue())
        details = [
            (
                row.pk,
                row.state,
                row.current_step_name,
                row.current_step_attempts,
                row.product_order.customer.name,
                [step.name for item in row.items.all() for step in item.steps.all()],
            )
            for row in rows
        ]

    assert len(queries) == 3
    assert [row[1] for row in details] == ["held", "acknowledged", "acknowledged"]
    assert details[0][2:4] == (f"Configure {gnb.name}", ACTIVATION_MAX_ATTEMPTS)
    assert rows[0].current_step_state == "failed"
    assert "element busy" in rows[0].current_step_error
    assert details[1][2:4] == ("Design, reserve gNB capacity, allocate slice", 0)
    assert len(details[1][5]) == 5
    assert held_order.pk == details[0][0]


def test_a_late_delivery_never_completes_a_held_order(held):
    _, service_order, gnb = held
    # Only the activation is left after the failed step: a redelivered task must not run it.
    ActivationStep.objects.filter(item__order=service_order).exclude(resource=gnb).exclude(
        operation="activate"
    ).update(state="done")

    services.service_order_run(service_order_id=service_order.pk)

    service_order.refresh_from_db()
    assert service_order.state == "held"
    assert ProductInstance.objects.get().status == "pendingActive"
    assert ActivationStep.objects.get(item__order=service_order, operation="activate").state == (
        "pending"
    )


def test_an_unexpected_error_holds_the_order_with_the_reason_instead_of_leaving_it_running(db):
    offering = catalog_demo.ensure_catalog()["Fibre 500"]
    fibre_access()
    order = _submit(offering, BillingAccountFactory(), bandwidth="500Mbps")
    service_order = order.service_orders.get()
    service = service_order.items.get().service
    # Only the activation is left; the service was ended behind the workflow's back (an admin,
    # a bad migration): the activation's state move is refused inside the worker, not by a
    # rule a step checks.
    ActivationStep.objects.filter(item__order=service_order).exclude(operation="activate").update(
        state="done"
    )
    Service.objects.filter(pk=service.pk).update(state="terminated")

    with pytest.raises(InvalidTransition):
        services.service_order_run(service_order_id=service_order.pk)

    reason = (
        "Step 5 'Activate service' failed: unexpected error: InvalidTransition: "
        "Service cannot move from 'terminated' to 'active'."
    )
    service_order.refresh_from_db()
    assert (service_order.state, service_order.failure_reason) == ("held", reason)
    assert list(service_order.history.values_list("to_state", "reason"))[-1] == ("held", reason)
    step = ActivationStep.objects.get(item__order=service_order, operation="activate")
    assert (step.state, step.last_error) == (
        "failed",
        "unexpected error: InvalidTransition: Service cannot move from 'terminated' to 'active'.",
    )
    # Nothing of the completion was written: no product active, the product order waits.
    assert ProductInstance.objects.get().status == "pendingActive"
    order.refresh_from_db()
    assert order.state == "inProgress"
    # Held, it is the NOC's to retry or fail, no longer re-run by the watchdog for ever.
    ServiceOrder.objects.filter(pk=service_order.pk).update(
        last_update=clock.now() - timedelta(hours=1)
    )
    assert services.stalled_orders_resume() == []
    queued = selectors.activation_queue().get(pk=service_order.pk)
    assert queued.is_actionable is True
