"""Every meaningful write of the inventory: products, services, capacity and its release."""

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.choices import ResourceKind
from catalog.models import ProductOffering, ServiceSpecification
from crm.models import BillingAccount, Customer
from inventory import selectors
from inventory.choices import (
    PRODUCT_TRANSITIONS,
    SERVICE_TRANSITIONS,
    AdministrativeState,
    BindingState,
    OperationalState,
    ProductStatus,
    ResourceCategory,
    ResourceStatus,
    ServiceCategory,
    ServiceState,
    UsageState,
)
from inventory.models import (
    ProductInstance,
    ProductStatusChange,
    Resource,
    Service,
    ServiceResource,
    ServiceStateChange,
)
from telco.exceptions import DomainError
from telco.states import transition

# A product whose characteristics name no bandwidth still takes a share of the cell.
DEFAULT_BANDWIDTH_MBPS = 100
BANDWIDTH_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MG])bps\s*$", re.IGNORECASE)
# The slice/service type of enhanced mobile broadband (3GPP TS 23.501), used for every slice.
SLICE_SERVICE_TYPE = 1


def bandwidth_mbps(value: str | None) -> int:
    """Parse "1Gbps" / "500Mbps" into Mbit/s; no value gives the default bandwidth."""
    if value in (None, ""):
        return DEFAULT_BANDWIDTH_MBPS
    match = BANDWIDTH_PATTERN.match(str(value))
    if not match:
        raise DomainError(f"'{value}' is not a bandwidth such as 500Mbps or 1Gbps.")
    number, unit = float(match.group(1)), match.group(2).upper()
    return int(number * 1000) if unit == "G" else int(number)


def _record_creation(history, fk: str, instance, state: str, by: str) -> None:
    history.objects.create(**{fk: instance}, from_state="", to_state=state, changed_by=by)


@transaction.atomic
def product_create(
    *,
    customer: Customer,
    billing_account: BillingAccount,
    product_offering: ProductOffering,
    characteristics: dict[str, str],
    product_order_id: str = "",
    product_order_item_id: str = "",
    by: str = "",
) -> ProductInstance:
    """Create the product a customer will hold, in status created (not billable yet)."""
    product = ProductInstance.objects.create(
        customer=customer,
        billing_account=billing_account,
        product_offering=product_offering,
        name=product_offering.name,
        characteristics=characteristics,
        product_order_id=product_order_id,
        product_order_item_id=product_order_item_id,
    )
    _record_creation(ProductStatusChange, "product", product, ProductStatus.CREATED, by)
    return product


def product_mark_pending_active(*, product: ProductInstance, by: str = "") -> ProductInstance:
    """The product's activation has started in the network."""
    return _product_move(product, ProductStatus.PENDING_ACTIVE, by=by)


def _product_move(
    product: ProductInstance, target: str, *, by: str, reason: str = "", **extra
) -> ProductInstance:
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


@transaction.atomic
def service_create(
    *,
    service_specification: ServiceSpecification,
    characteristics: dict[str, str],
    product: ProductInstance | None = None,
    by: str = "",
) -> Service:
    """Create the customer-facing service realising a product (or ordered alone), designed."""
    service = Service.objects.create(
        name=service_specification.name if product is None else f"{product.name} service",
        category=ServiceCategory.CUSTOMER_FACING,
        service_specification=service_specification,
        product=product,
        characteristics=characteristics,
    )
    _record_creation(ServiceStateChange, "service", service, ServiceState.FEASIBILITY_CHECKED, by)
    return _service_move(service, ServiceState.DESIGNED, by=by)


def _service_move(service: Service, target: str, *, by: str, reason: str = "", **extra) -> Service:
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


def capacity_is_feasible(*, bandwidth: int, customer: Customer | None = None) -> bool:
    """Is there a gNB in service with `bandwidth` Mbit/s free? (order validation)"""
    return selectors.gnb_candidates(bandwidth=bandwidth, customer=customer).exists()


def _free_capacity(gnb: Resource) -> int:
    held = (
        ServiceResource.objects.filter(resource=gnb)
        .exclude(state=BindingState.RELEASED)
        .values_list("capacity_mbps", flat=True)
    )
    return gnb.capacity_mbps - sum(held)


def _lock_gnb_with_capacity(*, bandwidth: int, customer: Customer | None) -> Resource:
    # Candidates are ranked without a lock; each is then locked and its free capacity counted
    # again, so two orders racing for the last megabits serialise on the gNB row.
    for gnb_id in selectors.gnb_candidates(bandwidth=bandwidth, customer=customer).values_list(
        "pk", flat=True
    ):
        gnb = Resource.objects.select_for_update().get(pk=gnb_id)
        if _free_capacity(gnb) >= bandwidth:
            return gnb
    raise DomainError(f"No gNB has {bandwidth} Mbps of free capacity.", field="bandwidth")


@transaction.atomic
def capacity_reserve(
    *, service: Service, bandwidth: int, customer: Customer | None = None, by: str = ""
) -> list[ServiceResource]:
    """Reserve `bandwidth` on a gNB and allocate a slice on it, both bound to the service.

    Calling it again for a service that already holds its reservation returns that reservation.
    """
    # The service row is locked first: two deliveries of the same step reserve once.
    Service.objects.select_for_update().get(pk=service.pk)
    held = list(service.bindings.exclude(state=BindingState.RELEASED).select_related("resource"))
    if held:
        return held
    gnb = _lock_gnb_with_capacity(bandwidth=bandwidth, customer=customer)
    gnb_binding = ServiceResource.objects.create(
        service=service, resource=gnb, capacity_mbps=bandwidth, state=BindingState.RESERVED
    )
    slice_resource = Resource.objects.create(
        name=f"slice-{service.pk}",
        resource_kind=ResourceKind.SLICE,
        category=ResourceCategory.LOGICAL,
        parent=gnb,
        site=gnb.site,
        capacity_mbps=bandwidth,
        resource_status=ResourceStatus.RESERVED,
        characteristics={"sNssai": {"sst": SLICE_SERVICE_TYPE, "sd": f"{service.pk:06x}"}},
    )
    slice_binding = ServiceResource.objects.create(
        service=service,
        resource=slice_resource,
        capacity_mbps=bandwidth,
        is_exclusive=True,
        state=BindingState.RESERVED,
    )
    _service_move(service, ServiceState.RESERVED, by=by)
    return [gnb_binding, slice_binding]


@transaction.atomic
def services_activate(
    *, services: list[Service], by: str = "", at: datetime | None = None
) -> datetime:
    """Activate services, their bindings and the products they realise, at one instant.

    Runs inside the caller's transaction when there is one, so the order completion commits
    with it: a product is billable exactly when its services are active.
    """
    at = at or timezone.now()
    service_ids = [service.pk for service in services]
    ServiceResource.objects.filter(service_id__in=service_ids, state=BindingState.RESERVED).update(
        state=BindingState.ACTIVE
    )
    Resource.objects.filter(
        bindings__service_id__in=service_ids, resource_kind=ResourceKind.SLICE
    ).update(
        resource_status=ResourceStatus.AVAILABLE,
        usage_state=UsageState.ACTIVE,
        last_update=at,
    )
    products = {}
    for service in services:
        _service_move(service, ServiceState.ACTIVE, by=by, start_date=at)
        if service.product_id:
            products[service.product_id] = service.product
    for product in products.values():
        _product_move(product, ProductStatus.ACTIVE, by=by, start_date=at)
    return at


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
    now = timezone.now()
    service_ids = [service.pk for service in services]
    ServiceResource.objects.filter(service_id__in=service_ids).exclude(
        state=BindingState.RELEASED
    ).update(state=BindingState.RELEASED)
    Resource.objects.filter(
        bindings__service_id__in=service_ids, resource_kind=ResourceKind.SLICE
    ).update(resource_status=ResourceStatus.STANDBY, usage_state=UsageState.IDLE, last_update=now)
    products = {}
    for service in services:
        if service.state != ServiceState.TERMINATED:
            _service_move(service, ServiceState.TERMINATED, by=by, reason=reason, end_date=now)
        if service.product_id:
            products[service.product_id] = service.product
    for product in products.values():
        product.refresh_from_db(fields=["status"])
        if product.status == product_status:
            continue
        if product.status == ProductStatus.CREATED and product_status == ProductStatus.ABORTED:
            product_mark_pending_active(product=product, by=by)
        _product_move(product, product_status, by=by, reason=reason, termination_date=now)


@transaction.atomic
def resource_create(
    *,
    name: str,
    category: str,
    resource_kind: str,
    resource_specification=None,
    site=None,
    parent: Resource | None = None,
    capacity_mbps: int = 0,
    characteristics: dict | None = None,
) -> Resource:
    """Register a network resource (TMF639 POST)."""
    if Resource.objects.filter(name=name).exists():
        raise DomainError(f"A resource named '{name}' already exists.", field="name")
    return Resource.objects.create(
        name=name,
        category=category,
        resource_kind=resource_kind,
        resource_specification=resource_specification,
        site=site,
        parent=parent,
        capacity_mbps=capacity_mbps,
        characteristics=characteristics or {},
    )


STATE_FIELDS = {
    "resource_status": ResourceStatus,
    "administrative_state": AdministrativeState,
    "operational_state": OperationalState,
    "usage_state": UsageState,
}


@transaction.atomic
def resource_update_states(*, resource: Resource, changes: dict[str, str]) -> Resource:
    """Set a resource's status/administrative/operational/usage state (NOC operations)."""
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    for field, value in changes.items():
        if field not in STATE_FIELDS:
            raise DomainError("This attribute cannot be changed.", field=field)
        if value not in STATE_FIELDS[field].values:
            raise DomainError(f"'{value}' is not a valid value.", field=field)
        setattr(resource, field, value)
    resource.last_update = timezone.now()
    resource.save(update_fields=[*changes, "last_update"])
    return resource
