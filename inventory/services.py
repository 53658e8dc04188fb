"""Every meaningful write of the inventory: products, services, capacity and its release."""

import ipaddress
import re
from datetime import datetime

from django.db import IntegrityError, models, transaction

from catalog.choices import ResourceKind
from catalog.models import ProductOffering, ServiceSpecification
from crm.models import BillingAccount, Customer
from inventory import selectors
from inventory.choices import (
    EQUIPMENT_KINDS,
    LINK_KINDS,
    POOL_KINDS,
    PRODUCT_TRANSITIONS,
    SERVICE_TRANSITIONS,
    AdministrativeState,
    BindingState,
    LinkMedium,
    OperationalState,
    ProductStatus,
    ResourceCategory,
    ResourceStatus,
    ServiceCategory,
    ServiceState,
    UsageState,
)
from inventory.models import (
    GLOBALLY_UNIQUE_KINDS,
    Link,
    ProductInstance,
    ProductStatusChange,
    Resource,
    Service,
    ServiceResource,
    ServiceStateChange,
    Site,
)
from telco import clock
from telco.exceptions import DomainError
from telco.states import transition

# A product whose characteristics name no bandwidth still takes a share of the cell.
DEFAULT_BANDWIDTH_MBPS = 100
BANDWIDTH_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([MG])bps\s*$", re.IGNORECASE)
# The kinds whose capacity follows a service's bandwidth.
NETWORK_KINDS = (ResourceKind.GNB, ResourceKind.SLICE)
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
    *,
    service: Service,
    bandwidth: int,
    customer: Customer | None = None,
    by: str = "",
    gnb_holder: Service | None = None,
    slice_holder: Service | None = None,
) -> list[ServiceResource]:
    """Reserve `bandwidth` on a gNB and allocate a slice on it, both bound to the service, or
    to its resource-facing children `gnb_holder` and `slice_holder` when it has them.

    Calling it again for a service that already holds its reservation returns that reservation.
    """
    # The service row is locked first: two deliveries of the same step reserve once.
    Service.objects.select_for_update().get(pk=service.pk)
    held = held_bindings(service)
    if held:
        return held
    gnb_holder = gnb_holder or service
    slice_holder = slice_holder or service
    gnb = _lock_gnb_with_capacity(bandwidth=bandwidth, customer=customer)
    gnb_binding = ServiceResource.objects.create(
        service=gnb_holder, resource=gnb, capacity_mbps=bandwidth, state=BindingState.RESERVED
    )
    slice_resource = Resource.objects.create(
        name=f"slice-{service.pk}",
        resource_kind=ResourceKind.SLICE,
        category=ResourceCategory.LOGICAL,
        parent=gnb,
        site=gnb.site,
        capacity_mbps=bandwidth,
        resource_status=ResourceStatus.RESERVED,
        # The S-NSSAI (sst-sd) is unique in the inventory, like every slice pool's members.
        value=f"{SLICE_SERVICE_TYPE}-{service.pk:06x}",
        characteristics={"sNssai": {"sst": SLICE_SERVICE_TYPE, "sd": f"{service.pk:06x}"}},
    )
    slice_binding = ServiceResource.objects.create(
        service=slice_holder,
        resource=slice_resource,
        capacity_mbps=bandwidth,
        is_exclusive=True,
        state=BindingState.RESERVED,
    )
    for each in {
        service.pk: service,
        gnb_holder.pk: gnb_holder,
        slice_holder.pk: slice_holder,
    }.values():
        _service_move(each, ServiceState.RESERVED, by=by)
    return [gnb_binding, slice_binding]


@transaction.atomic
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
        bindings__service_id__in=service_ids, resource_kind=ResourceKind.SLICE
    ).update(
        resource_status=ResourceStatus.AVAILABLE,
        usage_state=UsageState.ACTIVE,
        last_update=at,
    )
    products = {}
    for service in services:
        if service.state == ServiceState.DESIGNED:
            # Nothing was held for it (no gNB capacity, slice or pool member: a fibre or
            # Ethernet line, an RFS binding no resource): it passes through reserved, the
            # state machine's only road to active.
            _service_move(service, ServiceState.RESERVED, by=by, reason="Nothing to reserve.")
        _service_move(service, ServiceState.ACTIVE, by=by, start_date=at)
        if service.product_id:
            products[service.product_id] = service.product
    for product in products.values():
        _product_move(product, ProductStatus.ACTIVE, by=by, start_date=at)
    products_activate_pending(
        products=ProductInstance.objects.filter(
            pk__in={p.parent_id for p in products.values() if p.parent_id}
        ),
        by=by,
        at=at,
    )
    return at


def products_activate_pending(*, products, by: str = "", at: datetime | None = None) -> None:
    """Activate those of `products` still pending (a bundle's own product, a product without
    network services) at `at`, when their services (if any) are active."""
    at = at or clock.now()
    for product in products:
        if product.status == ProductStatus.PENDING_ACTIVE:
            _product_move(product, ProductStatus.ACTIVE, by=by, start_date=at)


def _services_end(
    services: list[Service], *, by: str, reason: str, at: datetime
) -> dict[int, ProductInstance]:
    """Give back what the services hold (capacity, slices on standby, pool members free) and
    terminate them; returns {id: product} of the products they realise."""
    service_ids = [service.pk for service in services]
    ServiceResource.objects.filter(service_id__in=service_ids).exclude(
        state=BindingState.RELEASED
    ).update(state=BindingState.RELEASED)
    Resource.objects.filter(
        bindings__service_id__in=service_ids, resource_kind=ResourceKind.SLICE
    ).update(resource_status=ResourceStatus.STANDBY, usage_state=UsageState.IDLE, last_update=at)
    _return_to_pools(
        ServiceResource.objects.filter(service_id__in=service_ids).values("resource_id"), at
    )
    products = {}
    for service in services:
        if service.state != ServiceState.TERMINATED:
            _service_move(service, ServiceState.TERMINATED, by=by, reason=reason, end_date=at)
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
    value: str = "",
    serial_number: str = "",
) -> Resource:
    """Register a network resource (TMF639 POST)."""
    _name_free(name)
    if (
        value
        and Resource.objects.filter(resource_kind=resource_kind, value=value)
        .filter(models.Q(parent=parent) | models.Q(resource_kind__in=GLOBALLY_UNIQUE_KINDS))
        .exists()
    ):
        raise DomainError(f"A {resource_kind} '{value}' already exists.", field="value")
    return Resource.objects.create(
        name=name,
        category=category,
        resource_kind=resource_kind,
        resource_specification=resource_specification,
        parent=parent,
        capacity_mbps=capacity_mbps,
        characteristics=characteristics or {},
        value=value,
        serial_number=serial_number,
        site_id=site.pk if site is not None else (parent.site_id if parent else None),
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
    resource.last_update = clock.now()
    resource.save(update_fields=[*changes, "last_update"])
    return resource


# --- product and service lifecycle after activation (orders' modify, suspend, resume, delete) ---


def _record_unchanged(history, fk: str, instance, field: str, by: str, reason: str) -> None:
    """A history row for a change that keeps the state (new plan, new characteristics)."""
    state = getattr(instance, field)
    history.objects.create(
        **{fk: instance}, from_state=state, to_state=state, changed_by=by, reason=reason
    )


def held_bindings(service: Service) -> list[ServiceResource]:
    """The bindings a service and its resource-facing children hold, in binding order."""
    return list(
        ServiceResource.objects.filter(
            models.Q(service=service) | models.Q(service__parent=service)
        )
        .exclude(state=BindingState.RELEASED)
        .select_related("resource", "service")
        .order_by("pk")
    )


def _gnb_binding(service: Service) -> ServiceResource | None:
    return next(
        (b for b in held_bindings(service) if b.resource.resource_kind == ResourceKind.GNB), None
    )


def capacity_can_adjust(*, service: Service, bandwidth: int) -> bool:
    """Can the gNB the service uses carry `bandwidth` instead of what it holds? (validation)"""
    binding = _gnb_binding(service)
    if binding is None or bandwidth <= binding.capacity_mbps:
        return True
    return _free_capacity(binding.resource) + binding.capacity_mbps >= bandwidth


@transaction.atomic
def capacity_adjust(
    *, service: Service, bandwidth: int, force: bool = False
) -> ServiceResource | None:
    """Hold `bandwidth` on the service's gNB (and its slice) instead of the current amount.

    The gNB row is locked and its free capacity counted again, so two changes racing for the
    last megabits serialise. `force` skips the check (compensation giving back the old amount).
    Returns the gNB binding, or None for a service holding no gNB capacity.
    """
    binding = _gnb_binding(service)
    if binding is None:
        return None
    gnb = Resource.objects.select_for_update().get(pk=binding.resource_id)
    binding = ServiceResource.objects.select_for_update().get(pk=binding.pk)
    growing = not force and bandwidth > binding.capacity_mbps
    if growing and _free_capacity(gnb) + binding.capacity_mbps < bandwidth:
        raise DomainError(
            f"{gnb.name} has not {bandwidth - binding.capacity_mbps} Mbps of free capacity "
            "for the new bandwidth.",
            field="bandwidth",
        )
    # The gNB share and the slice on it, wherever (service or its RFS children) they are bound.
    bound = [b.pk for b in held_bindings(service) if b.resource.resource_kind in NETWORK_KINDS]
    ServiceResource.objects.filter(pk__in=bound).update(capacity_mbps=bandwidth)
    Resource.objects.filter(bindings__pk__in=bound, resource_kind=ResourceKind.SLICE).update(
        capacity_mbps=bandwidth, last_update=clock.now()
    )
    binding.refresh_from_db()
    return binding


def _with_children(services: list[Service]) -> list[Service]:
    ids = [service.pk for service in services]
    children = list(Service.objects.filter(parent_id__in=ids).exclude(pk__in=ids))
    return [*services, *children]


@transaction.atomic
def service_modify(
    *, service: Service, characteristics: dict[str, str], by: str = "", reason: str = ""
) -> Service:
    """Record a service's (and its children's) new configuration; a history row says what."""
    for each in _with_children([service]):
        Service.objects.filter(pk=each.pk).update(
            characteristics=characteristics, last_update=clock.now()
        )
        each.characteristics = characteristics
        _record_unchanged(ServiceStateChange, "service", each, "state", by, reason)
    return service


@transaction.atomic
def product_modify(
    *,
    product: ProductInstance,
    characteristics: dict[str, str],
    product_offering: ProductOffering | None = None,
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
    _record_unchanged(ProductStatusChange, "product", product, "status", by, reason)
    return product


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
            _service_move(service, state, by=by, reason=reason)
        if service.product_id:
            products[service.product_id] = service.product
    Resource.objects.filter(
        bindings__service__in=_with_children(services), resource_kind=ResourceKind.SLICE
    ).update(
        usage_state=UsageState.ACTIVE if state == ServiceState.ACTIVE else UsageState.IDLE,
        last_update=now,
    )
    target = ProductStatus.ACTIVE if state == ServiceState.ACTIVE else ProductStatus.SUSPENDED
    for product in products.values():
        product.refresh_from_db(fields=["status"])
        if product.status != target:
            _product_move(product, target, by=by, reason=reason)
    return now


def product_mark_pending_terminate(
    *, product: ProductInstance, by: str = "", reason: str = ""
) -> ProductInstance:
    """The product's termination has started in the network (still billed until it ends)."""
    return _product_move(product, ProductStatus.PENDING_TERMINATE, by=by, reason=reason)


def product_termination_abandon(
    *, product: ProductInstance, status: str, by: str = "", reason: str = ""
) -> ProductInstance:
    """A failed termination: the product goes back to `status` (active or suspended)."""
    product.refresh_from_db(fields=["status"])
    if product.status != ProductStatus.PENDING_TERMINATE:
        return product
    return _product_move(product, status, by=by, reason=reason)


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
        _product_move(product, ProductStatus.TERMINATED, by=by, reason=reason, termination_date=at)
    return at


def product_set_status(
    *, product: ProductInstance, status: str, by: str = "", reason: str = ""
) -> ProductInstance:
    """Suspend or resume a product that no network service realises."""
    return _product_move(product, status, by=by, reason=reason)


def product_terminate(
    *, product: ProductInstance, by: str = "", reason: str = "", at: datetime | None = None
) -> ProductInstance:
    """Terminate a product that no network service realises (billing stops at `at`)."""
    product.refresh_from_db(fields=["status"])
    if product.status in (ProductStatus.ACTIVE, ProductStatus.SUSPENDED):
        product_mark_pending_terminate(product=product, by=by, reason=reason)
    return _product_move(
        product,
        ProductStatus.TERMINATED,
        by=by,
        reason=reason,
        termination_date=at or clock.now(),
    )


# ---------------------------------------------------------------------------------------------
# Physical inventory: equipment, cards, ports, ducts, cables and the links between ports
# ---------------------------------------------------------------------------------------------


def _name_free(name: str) -> None:
    if Resource.objects.filter(name=name).exists():
        raise DomainError(f"A resource named '{name}' already exists.", field="name")


# What a card or a port may be fitted into.
PART_PARENTS = {
    ResourceKind.CARD: tuple(EQUIPMENT_KINDS),
    ResourceKind.PORT: (ResourceKind.CARD, *EQUIPMENT_KINDS),
}
POSITION_LENGTH = Resource._meta.get_field("position").max_length


def part_problems(
    *, kind: str, parent: Resource | None, position: str, position_taken: bool
) -> list[tuple[str, str]]:
    """Why a card or port cannot go into `position` of `parent`, as ("parent"|"position",
    message) pairs; empty when it can. `position_taken`: the parent already has something there.

    The one rule for a part, whoever fits it: the services below (and so TMF639 POST) and the
    CSV import, which finds the taken positions of a whole file in one query.
    """
    problems = []
    allowed = PART_PARENTS[kind]
    if parent is None:
        problems.append(("parent", f"A {kind} goes into one of: {', '.join(allowed)}."))
    elif parent.resource_kind not in allowed:
        problems.append(
            (
                "parent",
                f"{parent.name} is a {parent.resource_kind}: a {kind} goes into one of: "
                f"{', '.join(allowed)}.",
            )
        )
    if not position:
        problems.append(("position", f"A {kind} needs a position in its parent."))
    elif len(position) > POSITION_LENGTH:
        problems.append(("position", f"At most {POSITION_LENGTH} characters."))
    elif parent is not None and position_taken:
        problems.append(("position", f"{parent.name} already has something in '{position}'."))
    return problems


def _part_create(
    *,
    kind: str,
    parent: Resource | None,
    position: str,
    name: str,
    field_names: dict[str, str],
    **values,
) -> Resource:
    """Fit a card or port into `parent` at `position` after `part_problems`, which are raised
    under the caller's `field_names`; the parent is locked, so two requests cannot both take
    the same free position."""
    if parent is not None:
        parent = Resource.objects.select_for_update().get(pk=parent.pk)
    taken = (
        parent is not None
        and bool(position)
        and Resource.objects.filter(parent=parent, position=position).exists()
    )
    problems = part_problems(kind=kind, parent=parent, position=position, position_taken=taken)
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field_names.get(field, field))
    name = name or f"{parent.name}/{position}"
    _name_free(name)
    return Resource.objects.create(
        name=name,
        resource_kind=kind,
        category=ResourceCategory.PHYSICAL,
        parent=parent,
        site_id=parent.site_id,
        position=position,
        **values,
    )


def _physical_create(*, name: str, resource_kind: str, **fields) -> Resource:
    """A physical resource under a name no resource has."""
    _name_free(name)
    return Resource.objects.create(
        name=name, resource_kind=resource_kind, category=ResourceCategory.PHYSICAL, **fields
    )


@transaction.atomic
def equipment_create(
    *,
    name: str,
    resource_kind: str,
    site: Site,
    vendor: str = "",
    model: str = "",
    serial_number: str = "",
    capacity_mbps: int = 0,
    resource_specification=None,
) -> Resource:
    """Install a piece of equipment (router, switch, OLT, gNB/eNB, core function) at a site."""
    if resource_kind not in EQUIPMENT_KINDS:
        raise DomainError(f"'{resource_kind}' is not an equipment role.", field="resource_kind")
    return _physical_create(
        name=name,
        resource_kind=resource_kind,
        site=site,
        vendor=vendor,
        model=model,
        serial_number=serial_number,
        capacity_mbps=capacity_mbps,
        resource_specification=resource_specification,
    )


@transaction.atomic
def card_create(
    *,
    equipment: Resource | None,
    slot: str,
    name: str = "",
    model: str = "",
    capacity_mbps: int = 0,
    serial_number: str = "",
    resource_specification=None,
    characteristics: dict | None = None,
) -> Resource:
    """Insert a card into a free slot of a piece of equipment (see `part_problems`).

    `DomainError` names `equipment` or `slot` (or `name`) when it cannot.
    """
    return _part_create(
        kind=ResourceKind.CARD,
        parent=equipment,
        position=slot,
        name=name,
        field_names={"parent": "equipment", "position": "slot"},
        model=model,
        vendor=equipment.vendor if equipment is not None else "",
        capacity_mbps=capacity_mbps,
        serial_number=serial_number,
        resource_specification=resource_specification,
        characteristics=characteristics or {},
    )


@transaction.atomic
def port_create(
    *,
    parent: Resource | None,
    position: str,
    capacity_mbps: int,
    name: str = "",
    serial_number: str = "",
    resource_specification=None,
    characteristics: dict | None = None,
) -> Resource:
    """A port in a free position of a card (or directly on equipment), with its line rate in
    Mbit/s (see `part_problems`). `DomainError` names `parent` or `position` (or `name`)."""
    return _part_create(
        kind=ResourceKind.PORT,
        parent=parent,
        position=position,
        name=name,
        field_names={},
        capacity_mbps=capacity_mbps,
        serial_number=serial_number,
        resource_specification=resource_specification,
        characteristics=characteristics or {},
    )


@transaction.atomic
def duct_create(*, name: str, characteristics: dict | None = None) -> Resource:
    """A duct that cables are pulled through."""
    return _physical_create(
        name=name,
        resource_kind=ResourceKind.DUCT,
        characteristics=characteristics or {},
    )


@transaction.atomic
def cable_create(
    *,
    name: str,
    medium: str = LinkMedium.FIBRE,
    duct: Resource | None = None,
    characteristics: dict | None = None,
) -> Resource:
    """A fibre or copper cable, optionally in a duct; the links it carries are its children."""
    if medium not in (LinkMedium.FIBRE, LinkMedium.COPPER):
        raise DomainError("A cable is fibre or copper.", field="medium")
    if duct is not None and duct.resource_kind != ResourceKind.DUCT:
        raise DomainError(f"{duct.name} is not a duct.", field="duct")
    return _physical_create(
        name=name,
        resource_kind=ResourceKind.CABLE,
        parent=duct,
        characteristics={"medium": medium, **(characteristics or {})},
    )


def devices_of(resource_ids: list[int]) -> dict[int, int]:
    """{resource id: id of the equipment it is part of} (the top of its parent chain)."""
    device = {pk: pk for pk in resource_ids}
    parents = dict(Resource.objects.filter(pk__in=resource_ids).values_list("pk", "parent_id"))
    # One query per level of nesting (equipment > card > port: two), not one per resource.
    while any(parents.values()):
        for pk, parent_id in parents.items():
            if parent_id is not None:
                device[pk] = parent_id
        parents = dict(
            Resource.objects.filter(pk__in=set(device.values())).values_list("pk", "parent_id")
        )
        parents = {pk: parents[device[pk]] for pk in device if parents.get(device[pk])}
    return device


def link_problems(
    *, a_end: Resource, z_end: Resource, medium: str, cable: Resource | None
) -> list[tuple[str, str]]:
    """Why a link cannot be made, as (field, message) pairs; empty when it can."""
    problems = []
    if medium not in LinkMedium.values:
        problems.append(("medium", f"'{medium}' is not one of {', '.join(LinkMedium.values)}."))
    if a_end.pk == z_end.pk:
        problems.append(("z_end", "A link joins two different ports."))
    for field, end in (("a_end", a_end), ("z_end", z_end)):
        if end.resource_kind not in (ResourceKind.PORT, *EQUIPMENT_KINDS):
            problems.append((field, f"{end.name} is not a port."))
    if medium == LinkMedium.MICROWAVE and cable is not None:
        problems.append(("cable", "A microwave link runs in no cable."))
    if cable is not None:
        if cable.resource_kind != ResourceKind.CABLE:
            problems.append(("cable", f"{cable.name} is not a cable."))
        elif cable.characteristics.get("medium", medium) != medium:
            cable_medium = cable.characteristics["medium"]
            problems.append(("cable", f"{cable.name} is a {cable_medium} cable."))
    return problems


@transaction.atomic
def link_create(
    *,
    name: str,
    a_end: Resource,
    z_end: Resource,
    medium: str = LinkMedium.FIBRE,
    capacity_mbps: int = 10_000,
    cable: Resource | None = None,
) -> Link:
    """Join two ports: `a_end` downstream (access side), `z_end` upstream (toward the core)."""
    problems = link_problems(a_end=a_end, z_end=z_end, medium=medium, cable=cable)
    if problems:
        field, message = problems[0]
        raise DomainError(message, field=field)
    _name_free(name)
    taken = Link.objects.filter(
        models.Q(a_end__in=[a_end, z_end]) | models.Q(z_end__in=[a_end, z_end]),
        a_end__resource_kind=ResourceKind.PORT,
    )
    busy = {link.a_end_id for link in taken} | {link.z_end_id for link in taken}
    for field, end in (("a_end", a_end), ("z_end", z_end)):
        if end.resource_kind == ResourceKind.PORT and end.pk in busy:
            raise DomainError(f"Port {end.name} already has a link.", field=field)
    devices = devices_of([a_end.pk, z_end.pk])
    return Link.objects.create(
        name=name,
        resource_kind=LINK_KINDS[medium],
        category=ResourceCategory.PHYSICAL,
        parent=cable,
        a_end=a_end,
        z_end=z_end,
        a_device_id=devices[a_end.pk],
        z_device_id=devices[z_end.pk],
        medium=medium,
        capacity_mbps=capacity_mbps,
    )


# ---------------------------------------------------------------------------------------------
# Logical inventory: pools and their members, allocated at most once
# ---------------------------------------------------------------------------------------------

# A prefix larger than this many addresses is split into smaller pools by the operator.
LARGEST_IP_POOL = 4096


class PoolExhausted(DomainError):
    """No free member is left in the pool(s) asked for."""

    status_code = 409
    code = "poolExhausted"


def _pool_with_members(
    *,
    pool_kind: str,
    name: str,
    value: str,
    members: list[tuple[str, str, dict]],
    parent: Resource | None = None,
    site=None,
) -> Resource:
    """A pool and its members [(name, value, characteristics)] in one bulk insert."""
    kind = next(member for member, pool in POOL_KINDS.items() if pool == pool_kind)
    _name_free(name)
    values = [member_value for _, member_value, _ in members]
    if kind in GLOBALLY_UNIQUE_KINDS:
        taken = Resource.objects.filter(resource_kind=kind, value__in=values).first()
        if taken is not None:
            raise DomainError(
                f"{taken.value} is already in {taken.parent or 'the inventory'}.", field="value"
            )
    names = [member_name for member_name, _, _ in members]
    clash = Resource.objects.filter(name__in=names).values_list("name", flat=True).first()
    if clash:
        raise DomainError(f"A resource named '{clash}' already exists.", field="name")
    pool = Resource.objects.create(
        name=name,
        resource_kind=pool_kind,
        category=ResourceCategory.LOGICAL,
        parent=parent,
        site=site,
        value=value,
        characteristics={"size": len(members)},
    )
    Resource.objects.bulk_create(
        [
            Resource(
                name=member_name,
                resource_kind=kind,
                category=ResourceCategory.LOGICAL,
                parent=pool,
                site=site,
                value=member_value,
                characteristics=characteristics,
            )
            for member_name, member_value, characteristics in members
        ],
        batch_size=5000,
    )
    return pool


def _consecutive(first: str, count: int) -> list[str]:
    """`count` consecutive numbers from `first`, as digit strings as wide as `first`."""
    return [str(int(first) + offset).zfill(len(first)) for offset in range(count)]


@transaction.atomic
def ip_prefix_create(*, name: str, prefix: str, site=None) -> Resource:
    """An IP prefix ("10.1.0.0/24") and its host addresses, ready to be allocated."""
    try:
        network = ipaddress.ip_network(prefix, strict=True)
    except ValueError as error:
        raise DomainError(f"'{prefix}' is not an IP prefix: {error}.", field="prefix") from None
    if network.num_addresses > LARGEST_IP_POOL:
        raise DomainError(
            f"A pool holds at most {LARGEST_IP_POOL} addresses; split {prefix}.", field="prefix"
        )
    hosts = list(network.hosts()) or [network.network_address]
    members = [(f"ip-{host}", str(host), {}) for host in hosts]
    return _pool_with_members(
        pool_kind=ResourceKind.IP_PREFIX, name=name, value=str(network), members=members, site=site
    )


@transaction.atomic
def vlan_pool_create(
    *, name: str, first_vid: int, last_vid: int, device: Resource | None = None
) -> Resource:
    """VLAN ids first..last (within 1-4094) of a pool, on a device when given."""
    if not 1 <= first_vid <= last_vid <= 4094:
        raise DomainError("VLAN ids run from 1 to 4094, first before last.", field="first_vid")
    members = [(f"{name}/vlan-{vid}", str(vid), {}) for vid in range(first_vid, last_vid + 1)]
    return _pool_with_members(
        pool_kind=ResourceKind.VLAN_POOL,
        name=name,
        value=f"{first_vid}-{last_vid}",
        members=members,
        parent=device,
        site=device.site if device is not None else None,
    )


@transaction.atomic
def msisdn_range_create(*, name: str, first: str, count: int) -> Resource:
    """`count` consecutive MSISDNs (E.164 digits, no +) from `first`."""
    if not (first.isascii() and first.isdigit()) or not 8 <= len(first) <= 15:
        raise DomainError("An MSISDN is 8 to 15 digits.", field="first")
    if not 1 <= count <= 100_000:
        raise DomainError("A range holds 1 to 100000 numbers.", field="count")
    numbers = _consecutive(first, count)
    members = [(f"msisdn-{number}", number, {}) for number in numbers]
    return _pool_with_members(
        pool_kind=ResourceKind.MSISDN_POOL,
        name=name,
        value=f"{numbers[0]}-{numbers[-1]}",
        members=members,
    )


@transaction.atomic
def sim_stock_create(*, name: str, first_iccid: str, first_imsi: str, count: int) -> Resource:
    """`count` SIM cards with consecutive ICCIDs and IMSIs (both unique in the inventory)."""
    if not (first_iccid.isascii() and first_iccid.isdigit() and 18 <= len(first_iccid) <= 20):
        raise DomainError("An ICCID is 18 to 20 digits.", field="first_iccid")
    if not (first_imsi.isascii() and first_imsi.isdigit() and len(first_imsi) == 15):
        raise DomainError("An IMSI is 15 digits.", field="first_imsi")
    if not 1 <= count <= 100_000:
        raise DomainError("A stock holds 1 to 100000 SIMs.", field="count")
    iccids, imsis = _consecutive(first_iccid, count), _consecutive(first_imsi, count)
    clash = Resource.objects.filter(
        resource_kind=ResourceKind.SIM, characteristics__imsi__in=imsis
    ).first()
    if clash is not None:
        raise DomainError(f"IMSI {clash.characteristics['imsi']} is taken.", field="first_imsi")
    members = [
        (f"sim-{iccid}", iccid, {"imsi": imsi}) for iccid, imsi in zip(iccids, imsis, strict=True)
    ]
    return _pool_with_members(
        pool_kind=ResourceKind.SIM_POOL, name=name, value=first_iccid, members=members
    )


@transaction.atomic
def slice_pool_create(
    *, name: str, sst: int, first_sd: int, count: int, parent: Resource | None = None
) -> Resource:
    """`count` network slices S-NSSAI (sst, sd) with consecutive slice differentiators."""
    if not 0 <= sst <= 255:
        raise DomainError("The slice/service type is 0 to 255.", field="sst")
    if not (first_sd >= 0 and count >= 1 and first_sd + count <= 0xFFFFFF):
        raise DomainError("Slice differentiators are 24 bits.", field="first_sd")
    differentiators = [f"{sd:06x}" for sd in range(first_sd, first_sd + count)]
    members = [
        (f"{name}/sd-{sd}", f"{sst}-{sd}", {"sNssai": {"sst": sst, "sd": sd}})
        for sd in differentiators
    ]
    return _pool_with_members(
        pool_kind=ResourceKind.SLICE_POOL,
        name=name,
        value=f"{sst}",
        members=members,
        parent=parent,
        site=parent.site if parent is not None else None,
    )


@transaction.atomic
def logical_allocate(
    *, kind: str, service: Service, pool: Resource | None = None, by: str = ""
) -> Resource:
    """Give `service` one free member of `pool` (or of any pool of that kind): an IP address,
    a VLAN, an MSISDN, a SIM or a network slice. At most once, whatever the concurrency.

    A free member is picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent orders take
    different members without waiting; the exclusive binding's partial unique constraint is
    the last word, and a pick that lost a race to it is retried. Asking again for a service
    that already holds one of that kind (from that pool) returns the one it holds.
    """
    if kind not in POOL_KINDS:
        raise DomainError(
            f"'{kind}' is not allocated from pools ({', '.join(POOL_KINDS)}).", field="kind"
        )
    if pool is not None and pool.resource_kind != POOL_KINDS[kind]:
        raise DomainError(f"{pool.name} is not a pool of {kind}.", field="pool")
    # Two deliveries of the same workflow step for one service serialise here.
    Service.objects.select_for_update().get(pk=service.pk)
    held = selectors.pool_bindings_held(kind).filter(service=service).select_related("resource")
    if pool is not None:
        held = held.filter(resource__parent=pool)
    binding = held.order_by("pk").first()
    if binding is not None:
        return binding.resource
    free = selectors.pool_free_members(kind, pool=pool).select_for_update(skip_locked=True)
    for _attempt in range(5):
        resource = free.first()
        if resource is None:
            where = f"pool {pool.name}" if pool is not None else f"any {POOL_KINDS[kind]}"
            raise PoolExhausted(f"No free {kind} is left in {where}.", field="pool")
        try:
            with transaction.atomic():
                ServiceResource.objects.create(
                    service=service,
                    resource=resource,
                    is_exclusive=True,
                    state=BindingState.RESERVED,
                )
        except IntegrityError:
            continue  # taken by a transaction that committed after our snapshot: pick again
        now = clock.now()
        Resource.objects.filter(pk=resource.pk).update(
            resource_status=ResourceStatus.RESERVED, usage_state=UsageState.BUSY, last_update=now
        )
        resource.refresh_from_db()
        return resource
    raise PoolExhausted(f"Could not allocate a {kind}: the pool is contended.", field="pool")


def _return_to_pools(resource_ids, at: datetime) -> None:
    """Members of pools that no service holds any more are free again (available, idle)."""
    Resource.objects.filter(
        pk__in=resource_ids, parent__resource_kind__in=POOL_KINDS.values()
    ).exclude(
        pk__in=ServiceResource.objects.filter(is_exclusive=True)
        .exclude(state=BindingState.RELEASED)
        .values("resource_id")
    ).update(resource_status=ResourceStatus.AVAILABLE, usage_state=UsageState.IDLE, last_update=at)


@transaction.atomic
def logical_release(
    *, service: Service, kind: str | None = None, resource: Resource | None = None, by: str = ""
) -> int:
    """Give back what `service` was allocated from pools (of `kind`, or just `resource`).

    The members become free for the next allocation. Returns how many were given back.
    """
    bindings = ServiceResource.objects.filter(
        service=service,
        is_exclusive=True,
        resource__parent__resource_kind__in=POOL_KINDS.values(),
    ).exclude(state=BindingState.RELEASED)
    if kind is not None:
        bindings = bindings.filter(resource__resource_kind=kind)
    if resource is not None:
        bindings = bindings.filter(resource=resource)
    resource_ids = list(bindings.values_list("resource_id", flat=True))
    released = ServiceResource.objects.filter(
        pk__in=list(bindings.values_list("pk", flat=True))
    ).update(state=BindingState.RELEASED)
    _return_to_pools(resource_ids, clock.now())
    return released
