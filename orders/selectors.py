"""Reads of orders, shaped for the APIs."""

from datetime import datetime, timedelta

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)

from orders.choices import OrderState, StepState
from orders.models import (
    ActivationStep,
    CancelProductOrder,
    CancelServiceOrder,
    ProductOrder,
    ProductOrderItem,
    ProductOrderStateChange,
    ServiceOrder,
    ServiceOrderItem,
)
from telco import clock

# An order in progress that made no progress for this long is stalled: the watchdog re-enqueues
# it, and the NOC may retry or fail it by hand.
STALL_AFTER = timedelta(minutes=5)


def stalled_condition(now: datetime) -> Q:
    """Service orders in progress with no progress for STALL_AFTER, or a running step past its
    deadline: the one definition the NOC's buttons and its retry/fail services share."""
    overdue_step = ActivationStep.objects.filter(
        item__order=OuterRef("pk"), state=StepState.RUNNING, deadline__lt=now
    )
    return Q(state=OrderState.IN_PROGRESS) & (
        Q(last_update__lt=now - STALL_AFTER) | Exists(overdue_step)
    )


def actionable_condition(now: datetime) -> Q:
    """Service orders the NOC may retry or fail: held, or stalled."""
    return Q(state=OrderState.HELD) | stalled_condition(now)


def product_order_list() -> QuerySet[ProductOrder]:
    """Product orders with customer, account, items and service orders in fixed queries."""
    items = ProductOrderItem.objects.select_related("product_offering", "product").order_by("id")
    return (
        ProductOrder.objects.select_related("customer", "billing_account")
        .prefetch_related(
            Prefetch("items", queryset=items),
            Prefetch("service_orders", queryset=ServiceOrder.objects.order_by("id")),
        )
        .order_by("-pk")
    )


def _items_with_steps() -> Prefetch:
    """A service order's items (service, specification) with their steps in sequence (resource,
    service): two queries."""
    steps = ActivationStep.objects.select_related("resource", "service").order_by("sequence")
    items = (
        ServiceOrderItem.objects.select_related("service", "service_specification")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("id")
    )
    return Prefetch("items", queryset=items)


def product_orders_with_progress() -> QuerySet[ProductOrder]:
    """Product orders with customer, account, items (offering, product), service orders with
    their items and steps (`_items_with_steps`), and history: six queries."""
    items = ProductOrderItem.objects.select_related("product_offering", "product").order_by("id")
    service_orders = ServiceOrder.objects.prefetch_related(_items_with_steps()).order_by("id")
    history = ProductOrderStateChange.objects.order_by("changed_at", "id")
    return ProductOrder.objects.select_related("customer", "billing_account").prefetch_related(
        Prefetch("items", queryset=items),
        Prefetch("service_orders", queryset=service_orders),
        Prefetch("history", queryset=history),
    )


def service_order_list() -> QuerySet[ServiceOrder]:
    """Service orders with their items, services and originating product order."""
    items = ServiceOrderItem.objects.select_related("service", "service_specification").order_by(
        "id"
    )
    return (
        ServiceOrder.objects.select_related("product_order__customer")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-pk")
    )


def cancel_product_order_list() -> QuerySet[CancelProductOrder]:
    """Cancellation requests of product orders, newest first, with their order."""
    return CancelProductOrder.objects.select_related("order").order_by("-pk")


def cancel_service_order_list() -> QuerySet[CancelServiceOrder]:
    """Cancellation requests of service orders, newest first, with their order."""
    return CancelServiceOrder.objects.select_related("order").order_by("-pk")


# Failed service orders stay on the activation queue this long, so the next shift sees them.
RECENT_FAILURES = timedelta(hours=24)
QUEUE_STATES = [
    OrderState.ACKNOWLEDGED,
    OrderState.IN_PROGRESS,
    OrderState.PENDING,
    OrderState.HELD,
]


def _current_step() -> QuerySet[ActivationStep]:
    """The step an order stands on: running or failed first, else the next pending one."""
    return ActivationStep.objects.filter(
        item__order=OuterRef("pk"),
        state__in=[StepState.RUNNING, StepState.FAILED, StepState.PENDING],
    ).order_by(
        Case(
            When(state__in=[StepState.RUNNING, StepState.FAILED], then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "item_id",
        "sequence",
    )


def service_orders_with_progress(*, now: datetime | None = None) -> QuerySet[ServiceOrder]:
    """Service orders with their product order and customer, their items (service,
    specification) and steps (`items[].steps`, in sequence, with resource and service), and
    annotations of the current step: `current_step_name`, `current_step_state`,
    `current_step_attempts`, `current_step_error`, `current_step_deadline`; `is_stalled`, and
    `is_actionable` (the NOC may retry or fail it).
    A fixed number of queries (three)."""
    now = now or clock.now()
    current = _current_step()
    return (
        ServiceOrder.objects.select_related(
            "product_order__customer", "product_order__billing_account"
        )
        .prefetch_related(_items_with_steps())
        .annotate(
            current_step_name=Subquery(current.values("name")[:1]),
            current_step_state=Subquery(current.values("state")[:1]),
            current_step_attempts=Subquery(current.values("attempts")[:1]),
            current_step_error=Subquery(current.values("last_error")[:1]),
            current_step_deadline=Subquery(current.values("deadline")[:1]),
            is_stalled=ExpressionWrapper(stalled_condition(now), output_field=BooleanField()),
            is_actionable=ExpressionWrapper(actionable_condition(now), output_field=BooleanField()),
        )
    )


def activation_queue(*, now: datetime | None = None) -> QuerySet[ServiceOrder]:
    """Service orders in flight or held, and those failed in the last day, oldest first, with
    their progress (`service_orders_with_progress`)."""
    now = now or clock.now()
    return (
        service_orders_with_progress(now=now)
        .filter(
            Q(state__in=QUEUE_STATES)
            | Q(state=OrderState.FAILED, completion_date__gte=now - RECENT_FAILURES)
        )
        .order_by("order_date", "pk")
    )


# States an order leaves on its own: counted for monitoring (the final states grow forever).
OPEN_ORDER_STATES = (
    OrderState.ACKNOWLEDGED,
    OrderState.PENDING,
    OrderState.HELD,
    OrderState.IN_PROGRESS,
    OrderState.ASSESSING_CANCELLATION,
    OrderState.PENDING_CANCELLATION,
)


def open_product_order_counts_by_state() -> dict[str, int]:
    """How many product orders wait in each open state (every open state, zero if none): one
    grouped query on the (state, order_date) index."""
    counts = dict(
        ProductOrder.objects.filter(state__in=OPEN_ORDER_STATES)
        .values_list("state")
        .annotate(total=Count("pk"))
        .order_by()
    )
    return {str(state): counts.get(state, 0) for state in OPEN_ORDER_STATES}


def activation_seconds_since(since: datetime) -> list[float]:
    """How long each service order completed since `since` took, from order to completion, in
    seconds (the partial index on completed orders' completion date keeps this cheap)."""
    rows = ServiceOrder.objects.filter(
        state=OrderState.COMPLETED, completion_date__gte=since
    ).values_list("order_date", "completion_date")
    return [(completed - ordered).total_seconds() for ordered, completed in rows]
