"""Activation steps: their state moves (through STEP_TRANSITIONS, with history) and what the
workflow and its fallout both need to know about a step, its order and its services."""

from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Model

from orders.choices import STEP_TRANSITIONS, OrderState, StepState
from orders.models import ActivationStep, ActivationStepStateChange, ServiceOrder, ServiceOrderItem
from orders.services.common import WORKFLOW_ACTOR
from telco import clock
from telco.states import transition

# A step is tried once and retried five times before the order is held for the NOC.
ACTIVATION_MAX_ATTEMPTS = 6


def step_move(
    step: ActivationStep,
    target: str,
    *,
    only_from: Collection[str] | None = None,
    count_attempt: bool = False,
    reason: str = "",
    by: str = WORKFLOW_ACTOR,
    guard: tuple[str, list] | None = None,
    durable: bool = True,
    **fields,
) -> bool:
    """Move the step through STEP_TRANSITIONS (row locked, history written), writing `fields`
    in the same UPDATE and onto `step`; `count_attempt` adds one to its attempts.

    With `only_from`, a step found (once locked) in another state was moved meanwhile by someone
    else (another worker, the watchdog, the NOC): it is left as it is and False is returned, as
    a conditional UPDATE would. Any other illegal move raises `InvalidTransition`.
    """
    moved = transition(
        step,
        target,
        transitions=STEP_TRANSITIONS,
        history=ActivationStepStateChange,
        history_fk="step",
        by=by,
        reason=reason,
        extra_updates=fields,
        only_from=only_from,
        increments=("attempts",) if count_attempt else (),
        guard=guard,
        durable=durable,
    )
    return moved is not None


def order_touch(order: ServiceOrder) -> None:
    """Record progress, so the watchdog leaves the order alone."""
    ServiceOrder.objects.filter(pk=order.pk).update(last_update=clock.now())


def order_still_running(order: ServiceOrder) -> bool:
    """Lock the service order and say whether its workflow may go on (not cancelled meanwhile).

    Cancellation, hold and manual failure take the same lock, so a step either starts before
    they decide (and they see it) or not at all.
    """
    state = (
        ServiceOrder.objects.select_for_update()
        .filter(pk=order.pk)
        .values_list("state", flat=True)
        .get()
    )
    return state == OrderState.IN_PROGRESS


def _while_order_runs(order: ServiceOrder, now) -> tuple[str, list]:
    """The guard of a step's move (`transition`): record the order's progress, only while it
    runs. The UPDATE takes the order's row lock (as `order_still_running` does), so
    cancellation, hold and manual failure either see the step moved or find it never started."""
    table = connection.ops.quote_name(ServiceOrder._meta.db_table)
    return (
        f"UPDATE {table} SET last_update = %s WHERE id = %s AND state = %s",  # noqa: S608
        [now, order.pk, OrderState.IN_PROGRESS],
    )


def step_start(order: ServiceOrder, step: ActivationStep) -> bool:
    """Mark the step running with its deadline, one attempt more; False, step untouched, when
    the order stopped or the step ended meanwhile (another delivery of the task ran it)."""
    now = clock.now()
    return step_move(
        step,
        StepState.RUNNING,
        only_from={StepState.PENDING, StepState.RUNNING},
        count_attempt=True,
        guard=_while_order_runs(order, now),
        # Lost in a crash, a start only makes the step run again (its element calls carry
        # their idempotency key): not worth a WAL flush of its own.
        durable=False,
        started_at=now,
        deadline=now + timedelta(seconds=settings.ACTIVATION_STEP_TIMEOUT_SECONDS),
    )


def step_done_at_once(order: ServiceOrder, step: ActivationStep) -> bool:
    """For a step whose whole work is a change to the inventory in the caller's transaction:
    mark it started and done now, one attempt more, before the change is made, so it is done
    or not started and a second delivery of the task never makes the change twice. False,
    nothing written, when the order stopped or the step ended meanwhile."""
    now = clock.now()
    return step_move(
        step,
        StepState.DONE,
        only_from={StepState.PENDING, StepState.RUNNING},
        count_attempt=True,
        guard=_while_order_runs(order, now),
        started_at=now,
        finished_at=now,
        last_error="",
        deadline=None,
    )


def step_done(step: ActivationStep) -> None:
    """Mark the step done; one the NOC failed while its call was out stays failed."""
    step_move(
        step,
        StepState.DONE,
        only_from={StepState.RUNNING, StepState.PENDING},
        # As a start (above): lost, the step runs again. The reservation and the completion,
        # which bind resources and start billing, commit durably, and with them every earlier
        # step move (WAL is written in order).
        durable=False,
        finished_at=clock.now(),
        last_error="",
        deadline=None,
    )


def step_fail(step: ActivationStep, error: str) -> str:
    """Mark the step failed with the error (unless it ended meanwhile); returns the reason the
    order gives for it."""
    step_move(
        step,
        StepState.FAILED,
        only_from={StepState.PENDING, StepState.RUNNING},
        reason=error,
        last_error=error,
        finished_at=clock.now(),
        deadline=None,
    )
    return f"Step {step.sequence} '{step.name}' failed: {error}"


def steps_name_elements(item_id: int, operation: str, elements: dict[str, tuple[int, str]]) -> None:
    """Name the item's `operation` steps of each resource kind after their element: `elements`
    maps a kind to (the element's id, the step's name). One UPDATE, written out: built with
    Case/When querysets it was the costliest statement of a reservation to compile."""
    if not elements:
        return
    table = connection.ops.quote_name(ActivationStep._meta.db_table)
    kinds = list(elements)
    resource_cases = " ".join("WHEN %s THEN CAST(%s AS bigint)" for _ in kinds)
    name_cases = " ".join("WHEN %s THEN CAST(%s AS varchar)" for _ in kinds)
    kind_list = ", ".join(["%s"] * len(kinds))
    statement = (
        f"UPDATE {table} SET resource_id = CASE resource_kind {resource_cases} END, "  # noqa: S608
        f"name = CASE resource_kind {name_cases} END "
        f"WHERE item_id = %s AND operation = %s AND resource_kind IN ({kind_list})"
    )
    parameters = [
        *(value for kind in kinds for value in (kind, elements[kind][0])),
        *(value for kind in kinds for value in (kind, elements[kind][1])),
        item_id,
        operation,
        *kinds,
    ]
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)


def step_service(step: ActivationStep) -> Model:
    """The service the step builds: its resource-facing service, else the item's service."""
    return step.service if step.service_id else step.item.service


def services_of(item: ServiceOrderItem) -> list[Model]:
    """The item's service and its resource-facing children."""
    return [item.service, *item.service.children.all()]
