"""Customer- and resource-facing services: designed, reserved, activated, modified, suspended,
resumed and terminated, with what they hold given back and their products following them."""

from datetime import datetime

from django.db import models, transaction

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import (
    SERVICE_TRANSITIONS,
    BindingState,
    ProductStatus,
    ResourceStatus,
    ServiceCategory,
    ServiceState,
    UsageState,
)
from inventory.models import ProductInstance, Resource, Service, ServiceResource, ServiceStateChange
from inventory.services.history import record_creation, record_unchanged
from inventory.services.pools import pool_members_return
from inventory.services.product_lifecycle import (
    product_mark_pending_active,
    product_mark_pending_terminate,
    product_move,
    products_activate_pending,
)
from telco import clock
from telco.exceptions import DomainError
from telco.states import transition, transition_many
from telco.transactions import atomic_in_caller

# Resources dedicated to one service, in use while it is active: a slice, a customer's ONT.
DEDICATED_KINDS = (ResourceKind.SLICE, ResourceKind.ONT)


# No savepoint of its own: nothing it checks can refuse once it has written.
@atomic_in_caller()
def service_create(
    *,
    service_specification: models.Model,
    characteristics: dict[str, str],
    product: ProductInstance | None = None,
    parent: Service | None = None,
    by: str = "",
) -> Service:
    """Create a service, designed: customer-facing for a product (or ordered alone), or, with
    `parent`, a resource-facing service supporting that customer-facing one."""
    if parent is not None:
        name = f"{parent.name} / {service_specification.name}"
    elif product is not None:
        name = f"{product.name} service"
    else:
        name = service_specification.name
    service = Service.objects.create(
        name=name,
        category=ServiceCategory.CUSTOMER_FACING
        if parent is None
        else ServiceCategory.RESOURCE_FACING,
        service_specification=service_specification,
        product=product if parent is None else None,
        parent=parent,
        characteristics=characteristics,
    )
    record_creation(ServiceStateChange, "service", service, ServiceState.FEASIBILITY_CHECKED, by)
    return service_move(service, ServiceState.DESIGNED, by=by)


def service_move(service: Service, target: str, *, by: str, reason: str = "", **extra) -> Service:
    """Move the service to `target` through the service state machine (a history row; `extra`
    fields, such as the start or end date, saved with it)."""
    return transition(
        service,
        target,
        transitions=SERVICE_TRANSITIONS,
        history=ServiceStateChange,
        history_fk="service",
        by=by,
        reason=reason,
        extra_updates=extra,
    )


def services_move(
    services: list[Service], target: str, *, by: str, reason: str = "", **extra
) -> None:
    """`service_move` for several services at once (one statement whatever their number)."""
    transition_many(
        services,
        target,
        transitions=SERVICE_TRANSITIONS,
        history=ServiceStateChange,
        history_fk="service",
        by=by,
        reason=reason,
        extra_updates=extra,
    )


@atomic_in_caller()
def services_activate(
    *, services: list[Service], by: str = "", at: datetime | None = None
) -> datetime:
    """Activate services, their bindings and the products they realise, at one instant.

    A service still designed (it needed nothing reserved) is recorded reserved on the way.

    Runs inside the caller's transaction when there is one, so the order completion commits
    with it: a product is billable exactly when its services are active.
    """
    at = at or clock.now()
    service_ids = [service.pk for service in services]
    ServiceResource.objects.filter(service_id__in=service_ids, state=BindingState.RESERVED).update(
        state=BindingState.ACTIVE
    )
    Resource.objects.filter(
        bindings__service_id__in=service_ids, resource_kind__in=DEDICATED_KINDS
    ).update(
        resource_status=ResourceStatus.AVAILABLE,
        usage_state=UsageState.ACTIVE,
        last_update=at,
    )
    # Nothing was held for a service still designed (an RFS binding no resource, a line
    # ordered before its technology reserved anything): it passes through reserved, the state
    # machine's only road to active.
    services_move(
        [service for service in services if service.state == ServiceState.DESIGNED],
        ServiceState.RESERVED,
        by=by,
        reason="Nothing to reserve.",
    )
    services_move(services, ServiceState.ACTIVE, by=by, start_date=at)
    products = {service.product_id: service.product for service in services if service.product_id}
    for product in products.values():
        product_move(product, ProductStatus.ACTIVE, by=by, start_date=at)
    bundles = {product.parent_id for product in products.values() if product.parent_id}
    if bundles:
        products_activate_pending(
            products=ProductInstance.objects.filter(pk__in=bundles), by=by, at=at
        )
    return at


def _services_end(
    services: list[Service], *, by: str, reason: str, at: datetime
) -> dict[int, ProductInstance]:
    """Give back what the services hold (capacity, slices on standby, pool members free) and
    terminate them; returns {id: product} of the products they realise."""
    service_ids = [service.pk for service in services]
    ServiceResource.objects.filter(service_id__in=service_ids).exclude(
        state=BindingState.RELEASED
    ).update(state=BindingState.RELEASED)
    paths.service_paths_rebuild(service_ids)
    Resource.objects.filter(
        bindings__service_id__in=service_ids, resource_kind=ResourceKind.SLICE
    ).update(resource_status=ResourceStatus.STANDBY, usage_state=UsageState.IDLE, last_update=at)
    # An ONT leaves its PON port (its ONT id is free again) and waits, free, to be registered
    # again: the customer's box may come back with the next order.
    Resource.objects.filter(
        bindings__service_id__in=service_ids, resource_kind=ResourceKind.ONT
    ).update(
        parent=None,
        position="",
        characteristics={},
        resource_status=ResourceStatus.AVAILABLE,
        usage_state=UsageState.IDLE,
        last_update=at,
    )
    pool_members_return(
        ServiceResource.objects.filter(service_id__in=service_ids).values("resource_id"), at
    )
    products = {}
    for service in services:
        if service.state != ServiceState.TERMINATED:
            service_move(service, ServiceState.TERMINATED, by=by, reason=reason, end_date=at)
        if service.product_id:
            products[service.product_id] = service.product
    return products


@transaction.atomic
def services_release(
    *,
    services: list[Service],
    by: str = "",
    reason: str = "",
    product_status: str = ProductStatus.ABORTED,
) -> None:
    """Give back everything the services hold: capacity returns, slices stand by, services end.

    The products they realise never became active, so nothing is billed: they end `aborted`
    (activation failed) or, with `product_status=cancelled`, cancelled (the order was withdrawn).
    """
    if product_status not in (ProductStatus.ABORTED, ProductStatus.CANCELLED):
        raise DomainError(f"Released products end aborted or cancelled, not '{product_status}'.")
    now = clock.now()
    products = _services_end(services, by=by, reason=reason, at=now)
    # A bundle ends with its products, those without network services included.
    parent_ids = {p.parent_id for p in products.values() if p.parent_id}
    bundled = ProductInstance.objects.filter(parent_id__in=parent_ids).exclude(pk__in=products)
    parents = ProductInstance.objects.filter(pk__in=parent_ids)
    for product in [*products.values(), *bundled, *parents]:
        product.refresh_from_db(fields=["status"])
        if product.status == product_status:
            continue
        if product.status == ProductStatus.CREATED and product_status == ProductStatus.ABORTED:
            product_mark_pending_active(product=product, by=by)
        product_move(product, product_status, by=by, reason=reason, termination_date=now)


def _with_children(services: list[Service]) -> list[Service]:
    ids = [service.pk for service in services]
    children = list(Service.objects.filter(parent_id__in=ids).exclude(pk__in=ids))
    return [*services, *children]


@transaction.atomic
def service_modify(
    *, service: Service, characteristics: dict[str, str], by: str = "", reason: str = ""
) -> Service:
    """Record a service's (and its children's) new configuration; a history row says what.
    Children reserved for the change (a site added to an enterprise VPN) go live with it."""
    added = []
    for each in _with_children([service]):
        Service.objects.filter(pk=each.pk).update(
            characteristics=characteristics, last_update=clock.now()
        )
        each.characteristics = characteristics
        record_unchanged(ServiceStateChange, "service", each, "state", by, reason)
        if each.parent_id and each.state == ServiceState.RESERVED:
            added.append(each)
    if added and service.state == ServiceState.ACTIVE:
        services_activate(services=added, by=by)
    return service


@transaction.atomic
def services_set_state(
    *, services: list[Service], state: str, by: str = "", reason: str = ""
) -> datetime:
    """Suspend (inactive) or resume (active) services and their children; their products
    follow: suspended or active. Billing stops or restarts from the product's status."""
    if state not in (ServiceState.ACTIVE, ServiceState.INACTIVE):
        raise DomainError(f"Services are suspended or resumed, not moved to '{state}'.")
    now = clock.now()
    products = {}
    for service in _with_children(services):
        if service.state != state:
            service_move(service, state, by=by, reason=reason)
        if service.product_id:
            products[service.product_id] = service.product
    Resource.objects.filter(
        bindings__service__in=_with_children(services), resource_kind__in=DEDICATED_KINDS
    ).update(
        usage_state=UsageState.ACTIVE if state == ServiceState.ACTIVE else UsageState.IDLE,
        last_update=now,
    )
    target = ProductStatus.ACTIVE if state == ServiceState.ACTIVE else ProductStatus.SUSPENDED
    for product in products.values():
        product.refresh_from_db(fields=["status"])
        if product.status != target:
            product_move(product, target, by=by, reason=reason)
    return now


@transaction.atomic
def services_terminate(
    *, services: list[Service], by: str = "", reason: str = "", at: datetime | None = None
) -> datetime:
    """End services (and children): capacity and slices given back, services terminated,
    their products terminated with `termination_date` (billing charges up to that instant)."""
    at = at or clock.now()
    products = _services_end(_with_children(services), by=by, reason=reason, at=at)
    for product in products.values():
        product.refresh_from_db(fields=["status"])
        if product.status in (ProductStatus.ACTIVE, ProductStatus.SUSPENDED):
            product_mark_pending_terminate(product=product, by=by, reason=reason)
        product_move(product, ProductStatus.TERMINATED, by=by, reason=reason, termination_date=at)
    return at
