"""The products a customer holds: created, pending, active, suspended, terminated or ended
before they started; each move goes through the product state machine and leaves a history row."""

from datetime import datetime

from django.db import models, transaction

from inventory.choices import PRODUCT_TRANSITIONS, ProductStatus
from inventory.models import ProductInstance, ProductStatusChange
from inventory.services.history import record_creation, record_unchanged
from telco import clock
from telco.exceptions import DomainError
from telco.states import transition


@transaction.atomic
def product_create(
    *,
    customer: models.Model,
    billing_account: models.Model,
    product_offering: models.Model,
    characteristics: dict[str, str],
    product_order_id: str = "",
    product_order_item_id: str = "",
    parent: ProductInstance | None = None,
    by: str = "",
) -> ProductInstance:
    """Create the product a customer will hold, in status created (not billable yet); with
    `parent`, one of the products of that bundle."""
    product = ProductInstance.objects.create(
        customer=customer,
        billing_account=billing_account,
        product_offering=product_offering,
        name=product_offering.name,
        characteristics=characteristics,
        product_order_id=product_order_id,
        product_order_item_id=product_order_item_id,
        parent=parent,
    )
    record_creation(ProductStatusChange, "product", product, ProductStatus.CREATED, by)
    return product


def product_mark_pending_active(*, product: ProductInstance, by: str = "") -> ProductInstance:
    """The product's activation has started in the network."""
    return product_move(product, ProductStatus.PENDING_ACTIVE, by=by)


def product_move(
    product: ProductInstance, target: str, *, by: str, reason: str = "", **extra
) -> ProductInstance:
    """Move the product to `target` through the product state machine (a history row; `extra`
    fields, such as the start or termination date, saved with it)."""
    return transition(
        product,
        target,
        transitions=PRODUCT_TRANSITIONS,
        history=ProductStatusChange,
        history_fk="product",
        field="status",
        by=by,
        reason=reason,
        extra_updates=extra,
    )


def products_activate_pending(*, products, by: str = "", at: datetime | None = None) -> None:
    """Activate those of `products` still pending (a bundle's own product, a product without
    network services) at `at`, when their services (if any) are active."""
    at = at or clock.now()
    for product in products:
        if product.status == ProductStatus.PENDING_ACTIVE:
            product_move(product, ProductStatus.ACTIVE, by=by, start_date=at)


@transaction.atomic
def product_modify(
    *,
    product: ProductInstance,
    characteristics: dict[str, str],
    product_offering: models.Model | None = None,
    by: str = "",
    reason: str = "",
) -> ProductInstance:
    """A new configuration or plan for a product; a history row (status unchanged) says what."""
    product = ProductInstance.objects.select_for_update().get(pk=product.pk)
    product.characteristics = characteristics
    fields = ["characteristics", "last_update"]
    if product_offering is not None and product_offering.pk != product.product_offering_id:
        product.product_offering = product_offering
        product.name = product_offering.name
        fields += ["product_offering", "name"]
    product.last_update = clock.now()
    product.save(update_fields=fields)
    record_unchanged(ProductStatusChange, "product", product, "status", by, reason)
    return product


def product_mark_pending_terminate(
    *, product: ProductInstance, by: str = "", reason: str = ""
) -> ProductInstance:
    """The product's termination has started in the network (still billed until it ends)."""
    return product_move(product, ProductStatus.PENDING_TERMINATE, by=by, reason=reason)


def product_termination_abandon(
    *, product: ProductInstance, status: str, by: str = "", reason: str = ""
) -> ProductInstance:
    """A failed termination: the product goes back to `status` (active or suspended)."""
    product.refresh_from_db(fields=["status"])
    if product.status != ProductStatus.PENDING_TERMINATE:
        return product
    return product_move(product, status, by=by, reason=reason)


def product_set_status(
    *, product: ProductInstance, status: str, by: str = "", reason: str = ""
) -> ProductInstance:
    """Suspend or resume a product that no network service realises."""
    return product_move(product, status, by=by, reason=reason)


def product_terminate(
    *, product: ProductInstance, by: str = "", reason: str = "", at: datetime | None = None
) -> ProductInstance:
    """Terminate a product that no network service realises (billing stops at `at`)."""
    product.refresh_from_db(fields=["status"])
    if product.status in (ProductStatus.ACTIVE, ProductStatus.SUSPENDED):
        product_mark_pending_terminate(product=product, by=by, reason=reason)
    return product_move(
        product,
        ProductStatus.TERMINATED,
        by=by,
        reason=reason,
        termination_date=at or clock.now(),
    )


@transaction.atomic
def product_start_billing(
    *, product: ProductInstance, at: datetime, by: str = "", reason: str = ""
) -> ProductInstance:
    """Make a product whose network service is active billable from `at` (revenue assurance's
    fix when the completion never reached the product): created or pending, it becomes active
    with that start date; active without a start date, it gets one. The next bill run charges
    it from `at`. Refused for a product that ended (cancelled, aborted, terminated)."""
    product = ProductInstance.objects.select_for_update().get(pk=product.pk)
    if product.status == ProductStatus.CREATED:
        product = product_move(product, ProductStatus.PENDING_ACTIVE, by=by, reason=reason)
    if product.status == ProductStatus.PENDING_ACTIVE:
        return product_move(product, ProductStatus.ACTIVE, by=by, reason=reason, start_date=at)
    if product.status in BILLABLE_WHEN_STARTED and product.start_date is None:
        product.start_date, product.last_update = at, clock.now()
        product.save(update_fields=["start_date", "last_update"])
        record_unchanged(ProductStatusChange, "product", product, "status", by, reason)
        return product
    if product.status in BILLABLE_WHEN_STARTED:
        return product  # billable already
    raise DomainError(f"Product {product.pk} is {product.status}: it cannot be billed again.")


# The statuses in which a product with a start date is billed (billing's BILLABLE_STATUSES).
BILLABLE_WHEN_STARTED = (
    ProductStatus.ACTIVE,
    ProductStatus.SUSPENDED,
    ProductStatus.PENDING_TERMINATE,
)
