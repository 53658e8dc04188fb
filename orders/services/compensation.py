"""Compensation: undo what a failed service order did in the network, give back what it holds,
and fail it with its product order items."""

from django.db import transaction

from inventory import services as inventory_services
from inventory.choices import ProductStatus, ServiceState
from inventory.network import driver_for
from inventory.network.base import NetworkError
from orders.choices import FINAL_ORDER_STATES, ItemAction, OrderState, StepState
from orders.models import ActivationStep, ProductOrder, ServiceOrder, ServiceOrderItem
from orders.services.common import (
    ADJUST,
    CONFIGURE,
    ELEMENT_OPERATIONS,
    MODIFY,
    RESERVE,
    WORKFLOW_ACTOR,
    enqueue_after_commit,
    item_move,
    items_move,
    order_move,
)
from orders.services.product_orders import product_order_advance
from orders.services.steps import services_of, step_fail, step_move, step_service
from telco import clock


def _undo_step(step: ActivationStep) -> str:
    """Undo one done step in the network or inventory; returns a note when that failed."""
    item = step.item
    if step.operation == ADJUST:
        old = inventory_services.bandwidth_mbps(item.previous_characteristics.get("bandwidth"))
        inventory_services.capacity_adjust(service=item.service, bandwidth=old, force=True)
        return ""
    service = step_service(step)
    driver = driver_for(step.resource.resource_kind)
    arguments = {
        "element": step.resource.name,
        "idempotency_key": f"{step.idempotency_key}-undo",
        "service_ref": str(service.pk),
    }
    # The service's own state is unchanged until the order completes: it is the old state.
    previous = inventory_services.element_config_expected(
        item.service,
        resource=step.resource,
        characteristics=item.previous_characteristics,
        state=item.service.state,
    )
    try:
        if step.operation == CONFIGURE:
            driver.deactivate(**arguments)
        elif step.operation == MODIFY:
            driver.modify(**arguments, payload=previous)
        else:
            driver.activate(**arguments, payload=previous)
    except NetworkError as undo_error:
        # The order fails anyway; the element keeps a stale config for the NOC to clean up.
        return f"compensation failed: {undo_error}"
    return ""


def _compensate(order: ServiceOrder) -> None:
    """Undo, newest first, every step of the order that changed the network or the capacity."""
    done = ActivationStep.objects.filter(
        item__order=order, operation__in=[*ELEMENT_OPERATIONS, ADJUST], state=StepState.DONE
    ).select_related("resource", "service", "item__service")
    for step in done.order_by("-item_id", "-sequence"):
        note = _undo_step(step)
        step_move(
            step,
            StepState.COMPENSATED,
            only_from={StepState.DONE},
            reason=note or "Undone: the order failed.",
            last_error=note,
        )


def service_order_compensate_and_fail(
    order: ServiceOrder, failed_step: ActivationStep | None, error: str, *, by: str = WORKFLOW_ACTOR
) -> None:
    """Undo what was done (newest first), give back reservations, fail the orders: the service
    order and its items, and the product order items it realises; then the product order moves
    on (items relying on the failed ones fail, and it settles)."""
    reason = error if failed_step is None else step_fail(failed_step, error)
    _compensate(order)
    with transaction.atomic():
        product_order = None
        if order.product_order_id:
            product_order = ProductOrder.objects.select_for_update().get(pk=order.product_order_id)
        order = ServiceOrder.objects.select_for_update().get(pk=order.pk)
        if order.state in FINAL_ORDER_STATES:
            return
        items = service_order_release(order, by=by, reason=reason)
        now = clock.now()
        items_move(items, OrderState.FAILED, by=by, reason=reason)
        order_move(
            order,
            OrderState.FAILED,
            by=by,
            reason=reason,
            failure_reason=reason,
            completion_date=now,
        )
        # Several service order items (a bundle's services) may realise one product order item.
        product_items = {item.product_order_item_id: item.product_order_item for item in items}
        for product_item_id in sorted(pk for pk in product_items if pk):
            item_move(
                product_items[product_item_id],
                OrderState.FAILED,
                by=by,
                reason=reason,
                failure_reason=reason,
            )
        if product_order is not None:
            for service_order_id in product_order_advance(product_order, at=now):
                enqueue_after_commit("run_service_order", service_order_id)


def service_order_release(
    order: ServiceOrder, *, by: str, reason: str, product_status: str = ProductStatus.ABORTED
) -> list[ServiceOrderItem]:
    """Give back what the order's add items reserved (their products end aborted or
    cancelled); a product whose termination was under way goes back to where it was.

    Runs in the caller's transaction, with the service order locked. Returns the items.
    """
    items = list(
        order.items.select_related("service__product", "product_order_item").prefetch_related(
            "service__children"
        )
    )
    added = [item for item in items if item.action == ItemAction.ADD and item.service_id]
    # A modify's new resource-facing services (sites added to a VPN) never went live.
    new_parts = [
        child
        for item in items
        if item.action == ItemAction.MODIFY and item.service_id
        for child in item.service.children.all()
        if child.state in (ServiceState.DESIGNED, ServiceState.RESERVED)
    ]
    inventory_services.services_release(
        services=[*(service for item in added for service in services_of(item)), *new_parts],
        by=by,
        reason=reason,
        product_status=product_status,
    )
    for item in items:
        product = item.service.product if item.service_id else None
        if item.action == ItemAction.DELETE and product is not None:
            inventory_services.product_termination_abandon(
                product=product,
                status=ProductStatus.SUSPENDED
                if item.service.state == ServiceState.INACTIVE
                else ProductStatus.ACTIVE,
                by=by,
                reason=reason,
            )
    # A reservation running when the order is cancelled stops itself (`_step_reserve`).
    held = [StepState.DONE, StepState.RUNNING]
    reservations = ActivationStep.objects.filter(
        item__order=order, operation=RESERVE, state__in=held
    )
    for step in reservations.order_by("pk"):
        step_move(step, StepState.COMPENSATED, only_from=held, by=by, reason=reason)
    return items
