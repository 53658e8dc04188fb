"""What revenue assurance reads of the inventory, set-based: every service an element should
hold with its expected configuration, and products beside the state of their services."""

from dataclasses import dataclass

from django.db.models import Exists, F, Max, Min, OuterRef, QuerySet
from django.db.models.functions import Coalesce

from inventory.choices import BindingState, ServiceState
from inventory.models import ProductInstance, Resource, Service, ServiceResource
from inventory.services.element_config import element_config_expected
from inventory.services.element_drift import CONFIGURED_KINDS, CONFIGURED_THROUGH_RFS

# A service in these states should be configured on its elements (locked when inactive); one
# on its way there (designed, reserved) may or may not be yet: neither expected nor orphan.
CONFIGURED_STATES = (ServiceState.ACTIVE, ServiceState.INACTIVE)
IN_PROGRESS_STATES = (
    ServiceState.FEASIBILITY_CHECKED,
    ServiceState.DESIGNED,
    ServiceState.RESERVED,
)


@dataclass(frozen=True)
class ExpectedOnElement:
    """A service the inventory places on an element: the reference the element holds it under
    (the id of the service whose binding it is: a resource-facing child for OLTs and
    routers), its customer-facing service (`root`: name, state, characteristics, product_id
    and `billing_account_id` read), and what the element should hold (None while the service
    is on its way: reserved, designed)."""

    service_ref: str
    service_id: int
    root: Service
    config: dict | None


@dataclass(frozen=True)
class HeldResource:
    """What `element_config_expected` reads of a binding (the resources shared, read once)."""

    service_id: int
    resource_id: int
    resource: Resource


def element_expected_configs(element: Resource) -> dict[str, ExpectedOnElement]:
    """Every service the inventory places on `element`, by the reference the element holds it
    under, with the configuration expected there: four queries whatever the number of
    services (the bindings to the element, their customer-facing services, every binding of
    those, and the resources bound), each row read as plain values but the services."""
    through_rfs = element.resource_kind in CONFIGURED_THROUGH_RFS
    on_element = (
        ServiceResource.objects.filter(resource=element)
        .exclude(state=BindingState.RELEASED)
        .exclude(service__state=ServiceState.TERMINATED)
        .annotate(root_id=Coalesce("service__parent_id", "service_id"))
    )
    placed = {}  # service id (the reference) -> its customer-facing service's id
    for service_id, root_id in on_element.values_list("service_id", "root_id"):
        if through_rfs and root_id == service_id:
            continue  # see CONFIGURED_THROUGH_RFS: never configured there
        placed[service_id] = root_id
    # Each read by ids through an index (a join or a subquery on the element's bindings has
    # PostgreSQL hash the whole service table).
    roots = {
        root.pk: root
        for root in Service.objects.filter(pk__in=set(placed.values())).only(
            "pk", "name", "state", "characteristics", "parent_id", "product_id"
        )
    }
    accounts = dict(
        ProductInstance.objects.filter(
            pk__in={root.product_id for root in roots.values()} - {None}
        ).values_list("pk", "billing_account_id")
    )
    for root in roots.values():
        root.billing_account_id = accounts.get(root.product_id)
    root_of = {pk: pk for pk in roots}
    root_of.update(Service.objects.filter(parent_id__in=roots).values_list("pk", "parent_id"))
    bindings_of: dict[int, list] = {pk: [] for pk in roots}
    rows = list(
        ServiceResource.objects.filter(service_id__in=root_of)
        .exclude(state=BindingState.RELEASED)
        .order_by("pk")
        .values_list("service_id", "resource_id")
    )
    resources = Resource.objects.filter(pk__in={row[1] for row in rows}).select_related(
        "parent__parent"
    )
    resources = {resource.pk: resource for resource in resources} if rows else {}
    for service_id, resource_id in rows:
        bindings_of[root_of[service_id]].append(
            HeldResource(service_id, resource_id, resources[resource_id])
        )
    expected = {}
    for service_id, root_id in placed.items():
        root = roots[root_id]
        config = None
        if root.state in CONFIGURED_STATES:
            config = element_config_expected(root, resource=element, bindings=bindings_of[root_id])
        expected[str(service_id)] = ExpectedOnElement(str(service_id), service_id, root, config)
    return expected


def elements_holding_services() -> QuerySet[Resource]:
    """The elements that hold, held or should hold a service's configuration (any binding,
    released ones too: a failed undo leaves configuration behind a released binding), in id
    order."""
    ever_bound = ServiceResource.objects.filter(resource_id=OuterRef("pk"))
    return (
        Resource.objects.filter(resource_kind__in=CONFIGURED_KINDS)
        .filter(Exists(ever_bound))
        .order_by("pk")
    )


def products_with_service_state(*, first_id: int, last_id: int) -> QuerySet[ProductInstance]:
    """The products with ids in [first_id, last_id], with `has_services` (network services
    realise or realised it), `has_active_service`, `active_since` (when the first
    of its active services started) and `account_currency`, in id order."""
    services = Service.objects.filter(product_id=OuterRef("pk"))
    active = services.filter(state=ServiceState.ACTIVE)
    return (
        ProductInstance.objects.filter(pk__gte=first_id, pk__lte=last_id)
        .annotate(
            # Any service, terminated ones too: an active product whose services all ended
            # (a failed activation billed anyway) is billed for nothing.
            has_services=Exists(services),
            has_active_service=Exists(active),
            active_since=active.order_by()
            .values("product_id")
            .annotate(first=Min("start_date"))
            .values("first")[:1],
            account_currency=F("billing_account__currency"),
        )
        .order_by("pk")
    )


def product_id_bounds() -> tuple[int, int]:
    """The lowest and highest product id (0, 0 when there is none)."""
    bounds = ProductInstance.objects.aggregate(first=Min("pk"), last=Max("pk"))
    return (bounds["first"] or 0, bounds["last"] or 0)


def services_by_reference(references) -> dict[str, Service]:
    """The customer-facing service (with its product) of each reference an element holds that
    names a service of ours (a service id, a resource-facing child's naming its parent), in one
    query; references that name none are left out."""
    ids = [int(each) for each in references if str(each).isdigit()]
    found = {}
    for service in Service.objects.filter(pk__in=ids).select_related("product", "parent__product"):
        found[str(service.pk)] = service.parent if service.parent_id else service
    return found
