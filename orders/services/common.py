"""Shared by the order modules: the workflow actor, step operations, order and item moves,
enqueueing."""

from django.db import transaction

from inventory import services as inventory_services
from orders.choices import FINAL_ORDER_STATES, ORDER_ITEM_TRANSITIONS, ORDER_TRANSITIONS
from orders.models import (
    ProductOrder,
    ProductOrderItem,
    ProductOrderItemStateChange,
    ProductOrderStateChange,
    ServiceOrderItemStateChange,
    ServiceOrderStateChange,
)
from telco.states import transition

# Who the workflow writes into history rows.
WORKFLOW_ACTOR = "activation-workflow"
# What the steps do, in the order they run for each item.
RESERVE = "reserve"  # add: gNB capacity and a slice, bound to the service
ADJUST = "adjust"  # modify: hold the new bandwidth on the gNB instead of the old one
CONFIGURE = "configure"  # add: driver.activate on one element
MODIFY = "modify"  # modify, suspend, resume: driver.modify on one element
DEACTIVATE = "deactivate"  # delete: driver.deactivate on one element
VERIFY = "verify"  # ask each element what it holds
ACTIVATE = "activate"  # the last step: inventory, products and orders change in one transaction
ELEMENT_OPERATIONS = (CONFIGURE, MODIFY, DEACTIVATE)


def enqueue_after_commit(task_name: str, object_id: int) -> None:
    """Send the order task `task_name` for `object_id` once the transaction commits."""
    # Imported here: the tasks module imports this one.
    from orders import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(object_id))


def capacity_hold_ref(product_order_id: int) -> str:
    """How inventory names what a product order's capture holds (inventory.CapacityHold)."""
    return f"productOrder:{product_order_id}"


def order_move(
    order, target: str, *, reason: str = "", by: str = WORKFLOW_ACTOR, only_from=None, **extra
):
    """Move a product or service order through ORDER_TRANSITIONS, with its history row;
    `extra` fields (completion date, failure reason...) are written in the same UPDATE.
    A product order that ends gives back what its capture still holds. With `only_from`, an
    order found in another state is left as it is and None returned (`transition`)."""
    is_product_order = isinstance(order, ProductOrder)
    if is_product_order and target in FINAL_ORDER_STATES:
        inventory_services.holds_release(order_ref=capacity_hold_ref(order.pk))
    return transition(
        order,
        target,
        transitions=ORDER_TRANSITIONS,
        history=ProductOrderStateChange if is_product_order else ServiceOrderStateChange,
        history_fk="order",
        by=by,
        reason=reason,
        extra_updates=extra,
        only_from=only_from,
    )


def item_move(item, target: str, *, reason: str = "", by: str = WORKFLOW_ACTOR, **extra):
    """Move a product or service order item through ORDER_ITEM_TRANSITIONS (row locked, history
    written); `extra` fields (failure reason, product...) are written in the same UPDATE."""
    is_product_item = isinstance(item, ProductOrderItem)
    return transition(
        item,
        target,
        transitions=ORDER_ITEM_TRANSITIONS,
        history=ProductOrderItemStateChange if is_product_item else ServiceOrderItemStateChange,
        history_fk="item",
        by=by,
        reason=reason,
        extra_updates=extra,
    )


def items_move(items, target: str, *, reason: str = "", by: str = WORKFLOW_ACTOR, **extra) -> None:
    """Move each of an order's few items (a queryset or list), in id order, by `item_move`."""
    for item in sorted(items, key=lambda item: item.pk):
        item_move(item, target, reason=reason, by=by, **extra)
