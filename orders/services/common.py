"""Shared by the order modules: the workflow actor, step operations, order moves, enqueueing."""

from django.db import transaction

from orders.choices import ORDER_TRANSITIONS
from orders.models import ProductOrder, ProductOrderStateChange, ServiceOrderStateChange
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


def _enqueue(task_name: str, object_id: int) -> None:
    # Imported here: the tasks module imports this one.
    from orders import tasks

    task = getattr(tasks, task_name)
    transaction.on_commit(lambda: task.delay(object_id))


def _order_move(order, target: str, *, reason: str = "", by: str = WORKFLOW_ACTOR, **extra):
    is_product_order = isinstance(order, ProductOrder)
    return transition(
        order,
        target,
        transitions=ORDER_TRANSITIONS,
        history=ProductOrderStateChange if is_product_order else ServiceOrderStateChange,
        history_fk="order",
        by=by,
        reason=reason,
        extra_updates=extra,
    )
