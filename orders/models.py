"""Requests to change what exists: product orders, service orders, and their activation."""

from django.db import models
from django.db.models import Q

from catalog.models import ProductOffering, ServiceSpecification
from crm.models import BillingAccount, Customer
from inventory.models import ProductInstance, Resource, Service
from orders.choices import ItemAction, OrderState, StepState, TaskState
from telco import clock
from telco.states import StateChange


class ProductOrder(models.Model):
    """A customer's order for products (TMF622)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    billing_account = models.ForeignKey(
        BillingAccount, on_delete=models.PROTECT, related_name="orders"
    )
    state = models.CharField(
        max_length=24, choices=OrderState.choices, default=OrderState.ACKNOWLEDGED
    )
    description = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=60, blank=True)
    priority = models.CharField(max_length=2, default="4")
    channel = models.CharField(max_length=40, blank=True)
    order_date = models.DateTimeField(default=clock.now)
    requested_start_date = models.DateTimeField(null=True, blank=True)
    expected_completion_date = models.DateTimeField(null=True, blank=True)
    completion_date = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [models.Index(fields=["state", "order_date"])]

    def __str__(self):
        return f"Product order {self.pk}"


class ProductOrderItem(models.Model):
    """One line of a product order: add, modify or delete one product."""

    order = models.ForeignKey(ProductOrder, on_delete=models.CASCADE, related_name="items")
    item_id = models.CharField(max_length=20)
    action = models.CharField(max_length=10, choices=ItemAction.choices)
    product_offering = models.ForeignKey(ProductOffering, on_delete=models.PROTECT)
    characteristics = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=24, choices=OrderState.choices, default=OrderState.ACKNOWLEDGED
    )
    product = models.ForeignKey(
        ProductInstance, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # modify only: the product status asked for (suspended / active), when that is the change.
    target_status = models.CharField(max_length=20, blank=True)
    # productOrderItemRelationship reliesOn: item ids of this order that must complete first.
    relies_on = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "item_id"], name="uniq_item_id_per_order")
        ]

    def __str__(self):
        return f"{self.order} item {self.item_id}"


class ProductOrderStateChange(StateChange):
    order = models.ForeignKey(ProductOrder, on_delete=models.CASCADE, related_name="history")


class ProductOrderItemStateChange(StateChange):
    """History of a product order item's state moves (waiting, running, and how it ended)."""

    item = models.ForeignKey(ProductOrderItem, on_delete=models.CASCADE, related_name="history")


class ServiceOrder(models.Model):
    """An order to the network for services (TMF641), usually decomposed from a product order."""

    product_order = models.ForeignKey(
        ProductOrder,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="service_orders",
    )
    state = models.CharField(
        max_length=24, choices=OrderState.choices, default=OrderState.ACKNOWLEDGED
    )
    description = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=60, blank=True)
    order_date = models.DateTimeField(default=clock.now)
    start_date = models.DateTimeField(null=True, blank=True)
    completion_date = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    last_update = models.DateTimeField(default=clock.now)

    class Meta:
        indexes = [
            # Monitoring's activation time: orders completed in the last hour, read at every scrape.
            models.Index(
                fields=["completion_date"],
                condition=Q(state="completed"),
                name="service_order_completed",
            )
        ]

    def __str__(self):
        return f"Service order {self.pk}"


class ServiceOrderItem(models.Model):
    """One service to add, modify or delete in the network."""

    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="items")
    item_id = models.CharField(max_length=20)
    action = models.CharField(max_length=10, choices=ItemAction.choices)
    service_specification = models.ForeignKey(ServiceSpecification, on_delete=models.PROTECT)
    characteristics = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=24, choices=OrderState.choices, default=OrderState.ACKNOWLEDGED
    )
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    product_order_item = models.ForeignKey(
        ProductOrderItem, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The service state the item leads to (active, inactive, terminated); blank for add.
    target_state = models.CharField(max_length=20, blank=True)
    # modify/delete: the configuration before the change, restored by compensation.
    previous_characteristics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "item_id"], name="uniq_service_item_id_per_order"
            )
        ]

    def __str__(self):
        return f"{self.order} item {self.item_id}"


class ServiceOrderStateChange(StateChange):
    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="history")


class ServiceOrderItemStateChange(StateChange):
    """History of a service order item's state moves."""

    item = models.ForeignKey(ServiceOrderItem, on_delete=models.CASCADE, related_name="history")


class _OrderCancellation(models.Model):
    """A request to cancel an order, a TMF task resource: done, or refused with its reason."""

    state = models.CharField(
        max_length=20, choices=TaskState.choices, default=TaskState.ACKNOWLEDGED
    )
    cancellation_reason = models.TextField(blank=True)
    requested_cancellation_date = models.DateTimeField(null=True, blank=True)
    effective_cancellation_date = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        abstract = True

    def __str__(self):
        return f"Cancellation {self.pk} of {self.order} ({self.state})"


def _cancellation_constraints(prefix: str) -> list:
    return [
        # A refusal always says why; a done cancellation always says when it took effect.
        models.CheckConstraint(
            condition=~Q(state=TaskState.TERMINATED_WITH_ERROR) | ~Q(error_message=""),
            name=f"{prefix}_refusal_has_message",
        ),
        models.CheckConstraint(
            condition=~Q(state=TaskState.DONE) | Q(effective_cancellation_date__isnull=False),
            name=f"{prefix}_done_has_date",
        ),
    ]


class CancelProductOrder(_OrderCancellation):
    """TMF622 cancelProductOrder: a request to withdraw a product order."""

    order = models.ForeignKey(ProductOrder, on_delete=models.CASCADE, related_name="cancellations")

    class Meta:
        ordering = ["-pk"]
        constraints = _cancellation_constraints("cancel_product_order")


class CancelServiceOrder(_OrderCancellation):
    """TMF641 cancelServiceOrder: a request to withdraw a service order."""

    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="cancellations")

    class Meta:
        ordering = ["-pk"]
        constraints = _cancellation_constraints("cancel_service_order")


class ActivationStep(models.Model):
    """One step of a service order item's activation, with its own state, attempts and error.

    The idempotency key goes to the network with the call, so a step delivered twice never
    configures the element twice.
    """

    item = models.ForeignKey(ServiceOrderItem, on_delete=models.CASCADE, related_name="steps")
    sequence = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=60)
    operation = models.CharField(max_length=20)
    # The kind of resource the step works on; the resource itself is known once reserved.
    resource_kind = models.CharField(max_length=20, blank=True)
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, null=True, blank=True)
    # The resource-facing service the step builds, when the item's service has RFS children.
    service = models.ForeignKey(
        Service, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=12, choices=StepState.choices, default=StepState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # A running step past its deadline is timed out: the watchdog retries it or holds the order.
    deadline = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item_id", "sequence"]
        indexes = [models.Index(fields=["state", "deadline"])]
        constraints = [
            models.UniqueConstraint(fields=["item", "sequence"], name="uniq_step_sequence")
        ]

    def __str__(self):
        return f"{self.sequence}. {self.name} ({self.state})"


class ActivationStepStateChange(StateChange):
    """History of an activation step's state moves: each attempt, retry, failure, undo."""

    step = models.ForeignKey(ActivationStep, on_delete=models.CASCADE, related_name="history")
