"""Cancellation of product orders (TMF622) and service orders (TMF641)."""

from datetime import datetime

from django.db import transaction
from django.db.models import Q

from inventory.choices import ProductStatus
from orders.choices import FINAL_ORDER_STATES, ORDER_TRANSITIONS, OrderState, StepState, TaskState
from orders.models import (
    ActivationStep,
    CancelProductOrder,
    CancelServiceOrder,
    ProductOrder,
    ServiceOrder,
)
from orders.services.common import RESERVE, items_move, order_move
from orders.services.compensation import service_order_release
from telco import clock
from telco.exceptions import DomainError
from telco.selectors import row_with_id

# ---------------------------------------------------------------------------------------------
# Cancellation (TMF622 cancelProductOrder, TMF641 cancelServiceOrder)
# ---------------------------------------------------------------------------------------------


def _cancellation_refusal(order, steps) -> str:
    """Why `order` can no longer be cancelled, or "" when it can.

    The point of no return: the first call to the network that configures something. An order
    can be cancelled while its state allows assessingCancellation (acknowledged, inProgress,
    pending, held) and every configure, verify and activate step of its service orders is still
    pending and was never attempted. A reservation, done or running, does not count: capacity
    is only held in our inventory and is given back. A configure step that was tried once, even
    if it failed transiently or timed out, may have left a configuration on the element, so it
    counts.
    """
    if OrderState.ASSESSING_CANCELLATION not in ORDER_TRANSITIONS.get(order.state, ()):
        return f"{order} is {order.state}: it can no longer be cancelled."
    started = steps.exclude(operation=RESERVE).filter(
        ~Q(state=StepState.PENDING) | Q(attempts__gt=0)
    )
    if started.exists():
        return f"{order} has started configuring the network: it can no longer be cancelled."
    return ""


def _order_cancel_moves(order, *, by: str, reason: str, at) -> None:
    """acknowledged/inProgress/... -> assessingCancellation -> pendingCancellation -> cancelled."""
    order_move(order, OrderState.ASSESSING_CANCELLATION, by=by, reason=reason)
    order_move(order, OrderState.PENDING_CANCELLATION, by=by, reason=reason)
    order_move(order, OrderState.CANCELLED, by=by, reason=reason, completion_date=at)
    # An item that already ended (one whose product needed no network completed at once)
    # keeps how it ended.
    items_move(
        order.items.exclude(state__in=FINAL_ORDER_STATES),
        OrderState.CANCELLED,
        by=by,
        reason=reason,
    )


def _service_order_withdraw(order: ServiceOrder, *, by: str, reason: str, at) -> None:
    """Cancel a locked, cancellable service order and release what it reserved."""
    if order.state not in FINAL_ORDER_STATES:
        _order_cancel_moves(order, by=by, reason=reason, at=at)
    service_order_release(order, by=by, reason=reason, product_status=ProductStatus.CANCELLED)


def _locked_order(model, order_id: str, *, field: str):
    """The order row, locked; an unknown or malformed id is a DomainError naming `field`."""
    order = row_with_id(model.objects.select_for_update(), order_id)
    if order is None:
        label = model._meta.verbose_name.capitalize()
        raise DomainError(f"{label} '{order_id}' does not exist.", field=field)
    return order


def _task_end(task, *, refusal: str = "", at: datetime | None = None):
    """Record how a cancellation ended: terminatedWithError with the refusal, or done `at`."""
    if refusal:
        task.state = TaskState.TERMINATED_WITH_ERROR
        task.error_message = refusal
    else:
        task.state = TaskState.DONE
        task.effective_cancellation_date = at
    task.save()
    return task


@transaction.atomic
def product_order_cancel(
    *,
    order_id: str,
    reason: str = "",
    requested_date: datetime | None = None,
    by: str = "",
) -> CancelProductOrder:
    """Cancel a product order if it has not passed the point of no return (see
    `_cancellation_refusal`): the order and its service orders go through assessingCancellation
    and pendingCancellation to cancelled, reservations are given back and the products end
    cancelled; the returned task is `done`.

    Past that point, or already final, nothing changes and the task is recorded
    `terminatedWithError` with the reason (TMF622: the task is a resource of its own).
    An unknown order raises `DomainError` naming `productOrder.id`.
    """
    order = _locked_order(ProductOrder, order_id, field="productOrder.id")
    # Locked in the same order as the workflow: product order first, then its service orders.
    service_orders = list(order.service_orders.select_for_update().order_by("pk"))
    task = CancelProductOrder(
        order=order,
        cancellation_reason=reason,
        requested_cancellation_date=requested_date,
        created_by=by,
    )
    refusal = _cancellation_refusal(
        order, ActivationStep.objects.filter(item__order__product_order=order)
    )
    if refusal:
        return _task_end(task, refusal=refusal)
    now = clock.now()
    why = reason or "Cancelled on request."
    for service_order in service_orders:
        _service_order_withdraw(service_order, by=by, reason=why, at=now)
    _order_cancel_moves(order, by=by, reason=why, at=now)
    return _task_end(task, at=now)


@transaction.atomic
def service_order_cancel(
    *,
    order_id: str,
    reason: str = "",
    requested_date: datetime | None = None,
    by: str = "",
) -> CancelServiceOrder:
    """Cancel a service order sent directly to us, by the same rule as `product_order_cancel`.

    A service order decomposed from a product order is refused (`terminatedWithError`): it is
    cancelled with its product order, so that order never ends half cancelled.
    """
    order = _locked_order(ServiceOrder, order_id, field="serviceOrder.id")
    task = CancelServiceOrder(
        order=order,
        cancellation_reason=reason,
        requested_cancellation_date=requested_date,
        created_by=by,
    )
    refusal = _cancellation_refusal(order, ActivationStep.objects.filter(item__order=order))
    if not refusal and order.product_order_id:
        refusal = (
            f"{order} was decomposed from product order {order.product_order_id}: "
            "cancel the product order."
        )
    if refusal:
        return _task_end(task, refusal=refusal)
    now = clock.now()
    _service_order_withdraw(order, by=by, reason=reason or "Cancelled on request.", at=now)
    return _task_end(task, at=now)
