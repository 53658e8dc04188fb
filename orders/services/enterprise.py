"""Enterprise access orders (Enterprise VPN, Enterprise Ethernet): the sites an order names,
their feasibility at capture, one resource-facing service per site, and the plan of each.

An order names its sites with TMF622 `product.place` (role "vpnSite", the sites' ids); the
capture records them as the `sites` characteristic ("12,15") and `bandwidth` is each site's
access rate. A site the network cannot serve refuses the order, naming the place and why. The
plan: reserve (each site's PE port, VLAN, address and link bandwidth; the VPN's route target),
configure each site's PE, verify, activate. A modify may add sites (reserved and configured
like the first ones) and change the bandwidth (held on every port and link, then each PE).
"""

from django.db.models import Model, OuterRef, Subquery

from catalog.choices import ResourceKind
from inventory import services as inventory_services
from inventory.choices import ServiceState
from orders.models import ServiceOrderItem
from orders.services.common import (
    ADJUST,
    CONFIGURE,
    RESERVE,
    VERIFY,
    WORKFLOW_ACTOR,
    capacity_hold_ref,
)
from telco.exceptions import DomainError

SITES = "sites"
# The kinds that make a specification enterprise access: a PE port, and no ONT (fibre).
ACCESS_KIND, FIBRE_KIND = ResourceKind.PORT, ResourceKind.ONT


def sites_of(characteristics: dict) -> list[str]:
    """The site ids a product's `sites` characteristic names, in order."""
    return [
        site.strip() for site in str(characteristics.get(SITES) or "").split(",") if site.strip()
    ]


def _site_specifications(service_specifications) -> list[Model]:
    """The resource-facing specifications realising each site (each CFS's RFS children)."""
    found = []
    for specification in service_specifications:
        for child in specification.supporting_specifications.all():
            kinds = {spec.resource_kind for spec in child.resource_specifications.all()}
            if ACCESS_KIND in kinds and FIBRE_KIND not in kinds:
                found.append(child)
    return found


def site_specification(specification: Model) -> Model | None:
    """The resource-facing specification realising each site of `specification`, if any."""
    return next(iter(_site_specifications([specification])), None)


def needs_site_access(service_specifications) -> bool:
    """Whether realising these specifications connects customer sites to PE ports."""
    return bool(_site_specifications(service_specifications))


def is_vpn(service_specifications) -> bool:
    """Whether the sites are joined in a VPN (a VRF with a route target), not single lines."""
    return any(
        spec.resource_kind == ResourceKind.ROUTE_TARGET
        for child in _site_specifications(service_specifications)
        for spec in child.resource_specifications.all()
    )


def check_sites_feasible(
    *,
    characteristics: dict,
    prefix: str,
    is_single_site: bool,
    known: list[str] = (),
    entity: str = "product",
    is_live: bool = True,
) -> list[tuple[str, inventory_services.SiteDemand]]:
    """Each site the item names (beyond the `known` ones it already has) can be served at the
    bandwidth: a free PE port and bandwidth up to the core. 400 naming the first place that
    cannot, with every such site and its reason in the message. `entity`: the item's
    "product" (TMF622) or "service" (TMF641), whose `place` names the sites.

    Returns what the new sites need, each with the field naming its place: the order holds it
    once it is accepted (`capacity_hold`)."""
    place_field = f"{prefix}.{entity}.place"
    sites = sites_of(characteristics)
    if not sites:
        raise DomainError(
            "Name the sites: product.place with role vpnSite and each site's id.",
            field=place_field,
        )
    if is_single_site and len(sites) != 1:
        raise DomainError("An Ethernet line serves one site: name one place.", field=place_field)
    for index, site in enumerate(sites):
        if site in sites[:index]:
            raise DomainError(f"Site {site} is named twice.", field=f"{place_field}[{index}].id")
    missing = [site for site in known if site not in sites]
    if missing:
        raise DomainError(
            f"Site {missing[0]} cannot be left out: terminate the product to end the service.",
            field=place_field,
        )
    new = [(index, site) for index, site in enumerate(sites) if site not in known]
    if new and not is_live:
        # A suspended service's change configures nothing: its new sites would be recorded
        # without a port, a VLAN or a PE that knows them.
        raise DomainError(
            f"Site {new[0][1]} cannot be added while the service is suspended: resume it first.",
            field=f"{place_field}[{new[0][0]}]",
        )
    try:
        demands = inventory_services.site_demands(
            [inventory_services.PlaceRequest(id=site) for _, site in new],
            characteristics.get("bandwidth"),
            field_prefix=f"{prefix}.{entity}.{entity}Characteristic",
        )
    except DomainError as error:
        field = error.field
        if field.startswith("place["):
            position = int(field[len("place[") : field.index("]")])
            field = f"{place_field}[{new[position][0]}].id"
        raise DomainError(error.message, field=field) from None
    answers = inventory_services.feasibility_check(demands)
    refused = [(new[n][0], answer) for n, answer in enumerate(answers) if not answer.is_feasible]
    if refused:
        raise DomainError(
            "Not feasible: " + " ".join(answer.message for _, answer in refused),
            field=f"{place_field}[{refused[0][0]}]",
        )
    return [
        (f"{place_field}[{index}]", demand) for (index, _), demand in zip(new, demands, strict=True)
    ]


def capacity_hold(order_id: int, sites: list[tuple[str, inventory_services.SiteDemand]]) -> None:
    """Hold for the accepted order the ports and bandwidth its sites were checked for, so a
    feasible order keeps what it was told. Checked again under the locks: an order captured
    meanwhile may have taken the last port, and then this one is refused naming the place."""
    try:
        inventory_services.access_hold(
            order_ref=capacity_hold_ref(order_id), demands=[demand for _, demand in sites]
        )
    except inventory_services.NotFeasible as error:
        position = int(error.field[len("place[") : -1])
        raise DomainError(f"Not feasible: {error.message}", field=sites[position][0]) from None


def _capacity_hold_order():
    """The product order realising the outer query's parent service (its latest item), whose
    capture holds what the sites were checked for."""
    return Subquery(
        ServiceOrderItem.objects.filter(
            service_id=OuterRef("parent_id"), product_order_item__isnull=False
        )
        .order_by("-pk")
        .values("product_order_item__order_id")[:1]
    )


# ---------------------------------------------------------------------------------------------
# Service orders: one resource-facing service per site, and the plan
# ---------------------------------------------------------------------------------------------


def site_services_create(
    *, service: Model, specification: Model, sites: list[str], characteristics: dict
) -> list:
    """One resource-facing service per site under `service`, each naming its site."""
    return [
        inventory_services.service_create(
            service_specification=specification,
            characteristics={**characteristics, "site": site},
            parent=service,
            by=WORKFLOW_ACTOR,
        )
        for site in sites
    ]


def added_site_services_create(*, service: Model, characteristics: dict) -> list:
    """A modify of an enterprise service naming new sites: their resource-facing services
    (reserved and configured by the change's plan, live when it completes)."""
    specification = site_specification(service.service_specification)
    if specification is None:
        return []
    known = sites_of(service.characteristics)
    new = [site for site in sites_of(characteristics) if site not in known]
    return site_services_create(
        service=service, specification=specification, sites=new, characteristics=characteristics
    )


def site_steps(site_services: list[Model], *, reserve: bool = True) -> list[tuple]:
    """(operation, name, kind, service, resource): reserve, configure each site's PE, verify."""
    routers = inventory_services.edge_routers(
        int(child.characteristics["site"]) for child in site_services
    )
    steps = [(RESERVE, "Reserve PE ports, VLANs, bandwidth and route target", "", None, None)]
    for child in site_services:
        router = routers.get(int(child.characteristics["site"]))
        name = f"Configure PE {router.name if router else '?'}"
        steps.append((CONFIGURE, name, ResourceKind.ROUTER, child, router))
    steps.append((VERIFY, "Verify configuration", "", None, None))
    return steps if reserve else steps[1:]


def adjust_step(bandwidth: int) -> tuple:
    """Hold the new bandwidth on every site's port and links (checked under the links' locks)."""
    return (
        ADJUST,
        f"Hold {bandwidth} Mbps on the sites' ports and links",
        ResourceKind.PORT,
        None,
        None,
    )


def enterprise_reserve(service: Model, characteristics: dict, *, is_vpn: bool) -> list:
    """The reserve step: each site not yet served gets its access (all or none), and a VPN
    (`is_vpn`) its route target; what the order's capture holds becomes those bindings.
    Returns no bindings: the configure steps already name their PE."""
    bandwidth = inventory_services.bandwidth_mbps(characteristics.get("bandwidth"))
    # The sites' services and the order holding their capacity, in one read.
    children = list(
        service.children.exclude(state=ServiceState.TERMINATED)
        .annotate(hold_order_id=_capacity_hold_order())
        .order_by("pk")
    )
    hold_order_id = children[0].hold_order_id if children else None
    inventory_services.access_reserve(
        holders={
            child: inventory_services.SiteDemand(int(child.characteristics["site"]), bandwidth)
            for child in children
        },
        by=WORKFLOW_ACTOR,
        hold_ref=capacity_hold_ref(hold_order_id) if hold_order_id else "",
        rebuild_paths=False,  # by the reserve step, once
    )
    if is_vpn:
        inventory_services.logical_allocate(
            kind=ResourceKind.ROUTE_TARGET, service=service, by=WORKFLOW_ACTOR, rebuild_paths=False
        )
    return []
