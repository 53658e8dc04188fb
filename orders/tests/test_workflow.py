"""The activation workflow's services run in-process: idempotency, drivers, labnet, watchdog."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from crm.tests.factories import BillingAccountFactory
from inventory.network import driver_for
from inventory.network.base import TransientNetworkError
from inventory.tests.factories import RouterFactory
from orders import services
from orders.models import ActivationStep, ProductOrder, ServiceOrder
from orders.services import ItemRequest, PartyRequest
from orders.tests.factories import five_g_world


def submit_and_run(offering, account, bandwidth="500Mbps") -> ProductOrder:
    """Accept, decompose and run an order inline (what the worker does after commit)."""
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": bandwidth})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    for service_order in order.service_orders.all():
        services.service_order_run(service_order_id=service_order.pk)
    order.refresh_from_db()
    return order


@pytest.mark.django_db
def test_a_step_run_again_with_its_key_configures_once(lab):
    offering, account, gnb = five_g_world()
    order = submit_and_run(offering, account)
    assert order.state == "completed"
    step = ActivationStep.objects.get(operation="configure", resource=gnb)
    changes = lab.changes(gnb.name)
    assert [change["idempotencyKey"] for change in changes] == [step.idempotency_key]

    answer = driver_for(gnb.resource_kind).activate(
        element=gnb.name,
        idempotency_key=step.idempotency_key,
        service_ref=str(step.service_id or step.item.service_id),
        payload={},
    )

    assert answer == {"element": gnb.name, "applied": False}
    assert lab.changes(gnb.name) == changes


@pytest.mark.django_db
def test_redelivered_service_order_resumes_without_repeating(lab):
    offering, account, gnb = five_g_world()
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "1Gbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    services.product_order_process(product_order_id=order.pk)  # delivered twice
    service_order = ServiceOrder.objects.get()
    call_command("labnet", "fail", gnb.name, "--mode", "transient:1")
    with pytest.raises(TransientNetworkError):
        services.service_order_run(service_order_id=service_order.pk)

    services.service_order_run(service_order_id=service_order.pk)
    services.service_order_run(service_order_id=service_order.pk)

    service_order.refresh_from_db()
    assert service_order.state == "completed"
    steps = ActivationStep.objects.filter(item__order=service_order).order_by("sequence")
    assert [(s.operation, s.attempts) for s in steps] == [
        ("reserve", 1),
        ("configure", 2),
        ("configure", 1),
        ("verify", 1),
        ("activate", 1),
    ]
    assert gnb.bindings.count() == 1
    configured = lab.configured()
    assert len(configured) == 2
    assert [len(lab.changes(name)) for name in configured] == [1, 1]


def test_retry_countdown_grows_and_reads_the_setting():
    with override_settings(ACTIVATION_RETRY_BACKOFF_SECONDS=1.0):
        first = services.retry_countdown(retries=0)
        third = services.retry_countdown(retries=2)
    assert 1.0 <= first <= 2.0
    assert 4.0 <= third <= 5.0


@pytest.mark.django_db
def test_labnet_command(capsys, lab):
    _, _, gnb = five_g_world()
    router = RouterFactory()

    call_command("labnet", "fail", gnb.name, "--mode", "transient:3")
    assert lab.element(gnb.name)["failuresLeft"] == 3
    call_command("labnet", "fail", "--all", "--mode", "timeout")
    assert {each["name"]: each["mode"] for each in lab.elements()} == {
        gnb.name: "timeout",
        router.name: "timeout",
    }
    call_command("labnet", "heal", "--all")
    assert {each["mode"] for each in lab.elements()} == {"none"}
    call_command("labnet", "status")
    assert f"{gnb.name}: none, 0 active config(s)" in capsys.readouterr().out

    with pytest.raises(CommandError, match="No network element named 'nope'"):
        call_command("labnet", "fail", "nope", "--mode", "permanent")
    with pytest.raises(CommandError, match="Unknown mode"):
        call_command("labnet", "fail", gnb.name, "--mode", "flaky")
    assert "nope" not in {each["name"] for each in lab.elements()}


@pytest.mark.django_db
def test_watchdog_picks_up_only_stalled_orders():
    offering, account, _ = five_g_world()
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    service_order = ServiceOrder.objects.get()

    assert services.stalled_orders_resume() == []
    ServiceOrder.objects.filter(pk=service_order.pk).update(
        last_update=timezone.now() - timedelta(minutes=6)
    )
    assert services.stalled_orders_resume() == [service_order.pk]
    # Its last_update now counts as progress: not enqueued twice in a row.
    assert services.stalled_orders_resume() == []


@pytest.mark.django_db
def test_no_capacity_at_reservation_fails_and_aborts_product():
    offering, account, gnb = five_g_world(gnb_capacity_mbps=1000)
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "1Gbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    # Another order takes the capacity between acceptance and reservation.
    submit_and_run(offering, BillingAccountFactory(), bandwidth="500Mbps")
    services.product_order_process(product_order_id=order.pk)
    services.service_order_run(service_order_id=order.service_orders.get().pk)

    order.refresh_from_db()
    assert order.state == "failed"
    assert order.failure_reason == (
        "Step 1 'Design, reserve gNB capacity, allocate slice' failed: "
        "No gNB has 1000 Mbps of free capacity."
    )
    assert order.items.get().product is None
    assert gnb.bindings.exclude(state="released").count() == 1  # the other order's only


@pytest.mark.django_db
def test_the_workflow_plans_its_state_moves_once(lab):
    """Every order runs the same statements: prepared, a state move is planned once for all
    orders (a generic plan) instead of once per order."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    offering, account, _gnb = five_g_world()
    for _order in range(7):
        assert submit_and_run(offering, account, bandwidth="100Mbps").state == "completed"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%%UPDATE \"orders_activationstep\" AS moving%%'"
        )
        generic_plans = [row[0] for row in cursor.fetchall()]
    assert generic_plans
    assert max(generic_plans) > 0


@pytest.mark.django_db(transaction=True)
def test_a_step_start_commits_without_a_flush_and_leaves_a_callers_commit_durable():
    """A step's start in a transaction of its own commits asynchronously (lost in a crash, the
    step runs again); inside a caller's transaction the caller's commit stays durable."""
    from django.db import connection, transaction

    from orders.services.steps import step_move, step_start

    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")
    offering, account, _gnb = five_g_world()
    order = services.product_order_submit(
        items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "100Mbps"})],
        parties=[PartyRequest(str(account.customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    service_order = order.service_orders.get()
    ServiceOrder.objects.filter(pk=service_order.pk).update(state="inProgress")
    first, second = ActivationStep.objects.filter(item__order=service_order).order_by("pk")[:2]

    statements = []

    def recorded(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(recorded):
        assert step_start(service_order, first)
    assert "set_config('synchronous_commit', 'off', true)" in statements[-1]
    first.refresh_from_db()
    assert first.state == "running"

    statements.clear()
    with transaction.atomic(), connection.execute_wrapper(recorded):
        assert step_move(second, "running", durable=False)
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
    assert statements
    assert all("synchronous_commit', 'off'" not in sql for sql in statements)
