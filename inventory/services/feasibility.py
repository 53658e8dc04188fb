"""Feasibility of enterprise access (VPN sites, Ethernet lines) and the reservation of what it
checked: a free port on each site's edge router (PE), bandwidth on every link of the PE's path
to the core, a VLAN and an address per site, a route target per VPN.

An order's capture holds the ports and bandwidth it checked (`access_hold`, CapacityHold rows
every other check counts as taken); its reserve step turns the holds into bindings
(`access_reserve(..., hold_ref=...)`), and `holds_release` gives them back when the order ends.

Reads are set-based: one query per question (the PEs, their free ports, the uplinks of one hop
of every PE's route, what the links carry), however many sites are asked about. Reservations
lock the PEs and links they touch in id order, check again under the locks and bind; so two
orders never take the same port and never overbook a link, and never deadlock each other.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import (
    LINK_KINDS,
    POOL_KINDS,
    AdministrativeState,
    BindingState,
    OperationalState,
    ServiceState,
)
from inventory.models import CapacityHold, Link, Resource, Service, ServiceResource, Site
from inventory.services.pools import logical_allocate
from inventory.services.service_lifecycle import service_move
from telco import clock
from telco.exceptions import DomainError

# Longest route from a PE toward the core that is followed (hops): beyond it the data loops.
MAX_HOPS = 16
# Why a site is not feasible (TMF645 eligibilityUnavailabilityReason codes).
UNKNOWN_SITE = "unknownSite"
NO_EDGE_ROUTER = "noEdgeRouter"
NO_FREE_PORT = "noFreePort"
NO_BANDWIDTH = "insufficientBandwidth"
NO_ROUTE = "noRouteToCore"


class NotFeasible(DomainError):
    """A site cannot be served: the message names the site and why."""

    code = "notFeasible"


@dataclass(frozen=True)
class SiteDemand:
    """One customer site to serve, with the bandwidth it needs (Mbit/s)."""

    site_id: int
    bandwidth: int


@dataclass
class SiteFeasibility:
    """The answer for one site: feasible, or the reasons (code, message) it is not."""

    site_id: int
    bandwidth: int
    site_name: str = ""
    edge_router: Resource | None = None
    route: list[int] = field(default_factory=list)  # link ids, PE to core
    reasons: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_feasible(self) -> bool:
        return not self.reasons

    def refuse(self, code: str, message: str) -> None:
        self.reasons.append((code, message))

    @property
    def message(self) -> str:
        return "; ".join(message for _, message in self.reasons)


def _in_service(queryset):
    return queryset.filter(
        administrative_state=AdministrativeState.UNLOCKED,
        operational_state=OperationalState.ENABLE,
    )


def _held(resource_field: str = "pk"):
    """Whether a service holds the resource (a binding not released)."""
    return Exists(
        ServiceResource.objects.filter(resource_id=OuterRef(resource_field)).exclude(
            state=BindingState.RELEASED
        )
    )


def _holds_of_others(hold_ref: str):
    """Capacity holds still in force, but those of the order `hold_ref` (its own capacity)."""
    return CapacityHold.objects.filter(expires_at__gt=clock.now()).exclude(order_ref=hold_ref)


def edge_routers(site_ids: Iterable[int]) -> dict[int, Resource]:
    """{site id: its PE}: the site's router with an uplink toward the core (one query)."""
    has_uplink = Exists(
        Link.objects.annotate(device=Coalesce("a_device", "a_end")).filter(device=OuterRef("pk"))
    )
    routers = (
        Resource.objects.filter(
            site_id__in=list(site_ids), resource_kind=ResourceKind.ROUTER, parent__isnull=True
        )
        .annotate(has_uplink=has_uplink)
        .order_by("site_id", "-has_uplink", "pk")
    )
    found: dict[int, Resource] = {}
    for router in routers:
        found.setdefault(router.site_id, router)
    return found


def free_ports(edge_router_ids: Iterable[int], *, bandwidth: int = 0, hold_ref: str = ""):
    """Ports of the PEs (on a card or on the chassis) in service, fast enough for `bandwidth`,
    joined by no link, held by no service and by no other order's capture (`hold_ref` names
    the order asking): the ports a customer can be connected to."""
    link_ends = Link.objects.filter(Q(a_end=OuterRef("pk")) | Q(z_end=OuterRef("pk")))
    ids = list(edge_router_ids)
    # The PEs and their cards as an id subquery: an OR over the port's parent and grandparent
    # joins makes PostgreSQL hash the whole resource table.
    holders = Resource.objects.filter(Q(pk__in=ids) | Q(parent_id__in=ids)).values("pk")
    return (
        _in_service(Resource.objects.filter(resource_kind=ResourceKind.PORT))
        .filter(parent_id__in=holders)
        .filter(capacity_mbps__gte=bandwidth)
        .annotate(edge_router_id=Coalesce("parent__parent_id", "parent_id"))
        .exclude(Exists(link_ends))
        .exclude(_held())
        .exclude(Exists(_holds_of_others(hold_ref).filter(resource_id=OuterRef("pk"))))
        .order_by("capacity_mbps", "pk")  # the smallest port that fits first
    )


def _routes(edge_router_ids: set[int]) -> dict[int, list[list[int]]]:
    """{PE id: its routes to the core, each a list of link ids}: one query per hop for every
    PE at once (a device with no uplink is the core, where a route ends)."""
    if not edge_router_ids:
        return {}
    # (start, device, links so far, devices so far)
    open_routes = [(pe, pe, [], {pe}) for pe in edge_router_ids]
    done: dict[int, list[list[int]]] = defaultdict(list)
    for _hop in range(MAX_HOPS):
        uplinks: dict[int, list[tuple[int, int]]] = defaultdict(list)
        rows = (
            Link.objects.annotate(
                upstream_of=Coalesce("a_device", "a_end"), toward=Coalesce("z_device", "z_end")
            )
            .filter(upstream_of__in={device for _, device, _, _ in open_routes})
            .order_by("pk")
            .values_list("upstream_of", "resource_ptr_id", "toward")
        )
        for device, link_id, toward in rows:
            uplinks[device].append((link_id, toward))
        following = []
        for start, device, links, seen in open_routes:
            if not uplinks.get(device):
                done[start].append(links)
                continue
            for link_id, toward in uplinks[device]:
                if toward not in seen:
                    following.append((start, toward, [*links, link_id], seen | {toward}))
        open_routes = following
        if not open_routes:
            break
    return done


def _link_load(link_ids: set[int], hold_ref: str = "") -> dict[int, tuple[str, int, bool]]:
    """{link id: (name, free Mbit/s, in service)} in two queries: what services carry and
    what other orders' captures hold."""
    carried = Coalesce(
        Sum("bindings__capacity_mbps", filter=~Q(bindings__state=BindingState.RELEASED)), 0
    )
    rows = (
        Resource.objects.filter(pk__in=link_ids)
        .annotate(carried=carried)
        .values_list("pk", "name", "capacity_mbps", "carried", "administrative_state")
    )
    held = dict(
        _holds_of_others(hold_ref)
        .filter(resource_id__in=link_ids)
        .values("resource_id")
        .annotate(held=Sum("capacity_mbps"))
        .values_list("resource_id", "held")
    )
    return {
        pk: (name, capacity - used - held.get(pk, 0), state == AdministrativeState.UNLOCKED)
        for pk, name, capacity, used, state in rows
    }


@dataclass
class _NetworkView:
    """What the checks read about some sites, in a fixed number of queries: their names, PEs,
    the PEs' free ports (speeds, slowest first), their routes to the core and the links'
    free bandwidth."""

    names: dict[int, str]
    routers: dict[int, Resource]
    ports_by_router: dict[int, list[int]]
    routes: dict[int, list[list[int]]]
    load: dict[int, tuple[str, int, bool]]

    def edge_router(self, answer: SiteFeasibility) -> Resource | None:
        """The site's PE, or None with the reason (an unknown site, a site without a PE)."""
        answer.site_name = self.names.get(answer.site_id, "")
        if answer.site_id not in self.names:
            answer.refuse(UNKNOWN_SITE, f"Site {answer.site_id} does not exist.")
            return None
        answer.edge_router = self.routers.get(answer.site_id)
        if answer.edge_router is None:
            answer.refuse(NO_EDGE_ROUTER, f"{_site_label(answer)} has no edge router (PE).")
        return answer.edge_router

    def has_route(self, answer: SiteFeasibility) -> bool:
        if self.routes.get(answer.edge_router.pk):
            return True
        # Its uplinks only loop (or run longer than MAX_HOPS): no link could be checked.
        answer.refuse(
            NO_ROUTE, f"{_site_label(answer)}: {answer.edge_router.name} has no route to the core."
        )
        return False


def _site_label(answer: SiteFeasibility) -> str:
    return f"Site {answer.site_name} ({answer.site_id})"


def _network_view(site_ids: set[int], hold_ref: str = "") -> _NetworkView:
    names = dict(Site.objects.filter(pk__in=site_ids).values_list("pk", "name"))
    routers = edge_routers(names)
    ports_by_router: dict[int, list[int]] = defaultdict(list)
    ports = free_ports((router.pk for router in routers.values()), hold_ref=hold_ref)
    for router_id, capacity in ports.values_list("edge_router_id", "capacity_mbps"):
        ports_by_router[router_id].append(capacity)
    routes = _routes({router.pk for router in routers.values()})
    load = _link_load(
        {link for each in routes.values() for route in each for link in route}, hold_ref
    )
    return _NetworkView(names, routers, ports_by_router, routes, load)


def feasibility_check(demands: list[SiteDemand], *, hold_ref: str = "") -> list[SiteFeasibility]:
    """Can each site be served with its bandwidth? One answer per demand, in order.

    A site needs a PE, a free port on it fast enough, and on some route from the PE to the core
    every link with the bandwidth free. Demands are counted together: two sites on one PE need
    two ports, and the bandwidth of all of them must fit on a link they share. What other
    orders' captures hold is taken; what the order `hold_ref` holds is its own.
    """
    answers = [SiteFeasibility(site_id=d.site_id, bandwidth=d.bandwidth) for d in demands]
    view = _network_view({d.site_id for d in demands}, hold_ref)
    load = view.load
    for answer in answers:
        router = view.edge_router(answer)
        if router is None:
            continue
        ports = view.ports_by_router[router.pk]  # the check takes them as a reservation would
        port = next((capacity for capacity in ports if capacity >= answer.bandwidth), None)
        if port is None:
            answer.refuse(
                NO_FREE_PORT,
                f"{_site_label(answer)}: {router.name} has no free port of "
                f"{answer.bandwidth} Mbps.",
            )
        else:
            ports.remove(port)
        if not view.has_route(answer):
            continue
        route, shortfall = _best_route(view.routes[router.pk], load, answer.bandwidth)
        if shortfall:
            link_name, missing = shortfall
            answer.refuse(
                NO_BANDWIDTH,
                f"{_site_label(answer)}: link {link_name} lacks {missing} Mbps "
                f"(for {answer.bandwidth} Mbps from {router.name} to the core).",
            )
        elif answer.is_feasible:
            answer.route = route
            for link in route:  # later sites of the same request see this one's share
                name, free, in_service = load[link]
                load[link] = (name, free - answer.bandwidth, in_service)
    return answers


def site_capacities(site_ids: list[int]) -> list[SiteFeasibility]:
    """What each site can be given now, each on its own: `bandwidth` is the fastest access a
    free port of its PE and some route to the core allow (Mbit/s), or 0 with the reasons it
    cannot be served at all. One answer per site, in order; the same reads as a check."""
    view = _network_view(set(site_ids))
    answers = [SiteFeasibility(site_id=site_id, bandwidth=0) for site_id in site_ids]
    for answer in answers:
        router = view.edge_router(answer)
        if router is None:
            continue
        fastest_port = max(view.ports_by_router[router.pk], default=0)
        if not fastest_port:
            answer.refuse(NO_FREE_PORT, f"{_site_label(answer)}: {router.name} has no free port.")
        if not view.has_route(answer):
            continue
        # A route carries what its fullest link has free (a link out of service: nothing).
        route_free = max(
            min(
                (free if in_service else 0 for _, free, in_service in map(view.load.get, route)),
                default=fastest_port,
            )
            for route in view.routes[router.pk]
        )
        if route_free <= 0:
            answer.refuse(
                NO_BANDWIDTH,
                f"{_site_label(answer)}: no bandwidth is left from {router.name} to the core.",
            )
        if answer.is_feasible:
            answer.bandwidth = min(fastest_port, route_free)
    return answers


def _best_route(
    routes: list[list[int]], load: dict, bandwidth: int
) -> tuple[list[int], tuple[str, int] | None]:
    """The first route whose every link has `bandwidth` free; else the nearest miss:
    (route, (link name, Mbit/s it lacks))."""
    shortfalls = []
    for route in routes:
        worst = None
        for link in route:
            name, free, in_service = load[link]
            missing = bandwidth - (free if in_service else 0)
            if missing > 0 and (worst is None or missing > worst[1]):
                worst = (name, missing)
        if worst is None:
            return route, None
        shortfalls.append((route, worst))
    return min(shortfalls, key=lambda pair: pair[1][1])


@dataclass
class SiteAccess:
    """What a site's access holds: the PE, the port, the VLAN and address on it."""

    service: Service
    edge_router: Resource
    port: Resource
    vlan: Resource
    address: Resource | None
    links: list[Resource]


def _pool_near(kind: str, edge_router: Resource) -> Resource | None:
    """The pool of `kind` on the PE, else one in the PE's region, else None (any pool)."""
    pools = Resource.objects.filter(resource_kind=POOL_KINDS[kind])
    return (
        pools.filter(parent=edge_router).first()
        or pools.filter(site__region_id=edge_router.site.region_id).order_by("pk").first()
        or pools.filter(parent__site__region_id=edge_router.site.region_id).order_by("pk").first()
    )


def _access_held(service: Service) -> SiteAccess | None:
    bindings = list(
        ServiceResource.objects.filter(service=service)
        .exclude(state=BindingState.RELEASED)
        .select_related("resource__site")
        .order_by("pk")
    )
    by_kind: dict[str, list[Resource]] = defaultdict(list)
    for binding in bindings:
        by_kind[binding.resource.resource_kind].append(binding.resource)
    if not by_kind.get(ResourceKind.PORT):
        return None
    return SiteAccess(
        service=service,
        edge_router=by_kind[ResourceKind.ROUTER][0],
        port=by_kind[ResourceKind.PORT][0],
        vlan=by_kind[ResourceKind.VLAN][0],
        address=(by_kind.get(ResourceKind.IP_ADDRESS) or [None])[0],
        links=[b.resource for b in bindings if b.resource.resource_kind in LINK_KINDS.values()],
    )


def _checked_under_locks(demands: list[SiteDemand], hold_ref: str) -> list[SiteFeasibility]:
    """Check the demands with their PEs and every link of the PEs' routes locked (id order),
    so concurrent orders serialise on what they share: `NotFeasible` (field `place[n]`, the
    first demand that fails) or the answers."""
    first = feasibility_check(demands, hold_ref=hold_ref)
    # Every link of every route of the PEs: the check under the locks may take another
    # route than the first one did (a share taken meanwhile), and that one is locked too.
    edge_routers = {a.edge_router.pk for a in first if a.edge_router}
    lock = edge_routers | {
        link for routes in _routes(edge_routers).values() for route in routes for link in route
    }
    list(Resource.objects.select_for_update().filter(pk__in=lock).order_by("pk"))
    answers = feasibility_check(demands, hold_ref=hold_ref)
    for index, answer in enumerate(answers):
        if not answer.is_feasible:
            raise NotFeasible(answer.message, field=f"place[{index}]")
    return answers


@transaction.atomic
def access_hold(*, order_ref: str, demands: list[SiteDemand]) -> list[CapacityHold]:
    """Hold for the order what serving the sites takes: a port on each PE and the bandwidth on
    every link of its route, until CAPACITY_HOLD_MINUTES (all or none: `NotFeasible`, field
    `place[n]`, names the first demand that cannot be served now)."""
    if not demands:
        return []
    answers = _checked_under_locks(demands, order_ref)
    expires_at = clock.now() + timedelta(minutes=settings.CAPACITY_HOLD_MINUTES)
    holds, taken = [], set()
    for answer in answers:
        port = (
            free_ports([answer.edge_router.pk], bandwidth=answer.bandwidth, hold_ref=order_ref)
            .exclude(pk__in=taken)
            .first()
        )
        taken.add(port.pk)  # the check under the locks counted it: it is there
        holds.append((answer, port.pk, True))
        holds += [(answer, link, False) for link in answer.route]
    return CapacityHold.objects.bulk_create(
        CapacityHold(
            order_ref=order_ref,
            site_id=answer.site_id,
            resource_id=resource_id,
            capacity_mbps=answer.bandwidth,
            is_exclusive=is_port,
            expires_at=expires_at,
        )
        for answer, resource_id, is_port in holds
    )


def holds_release(*, order_ref: str) -> int:
    """Give back what the order's capture holds (it ended, or its sites are bound)."""
    deleted, _ = CapacityHold.objects.filter(order_ref=order_ref).delete()
    return deleted


@transaction.atomic
def access_reserve(
    *,
    holders: dict[Service, SiteDemand],
    with_address: bool = True,
    by: str = "",
    hold_ref: str = "",
    rebuild_paths: bool = True,
) -> list[SiteAccess]:
    """Reserve each site's access for the service that will hold it: a free port on the PE,
    the bandwidth on every link of the route to the core, a VLAN (and an address) from the
    pools nearest the PE. All sites or none: `NotFeasible` names the first site that fails.
    What the order `hold_ref` holds since its capture is its own, and becomes the bindings.

    The PEs and links are locked in id order and the check runs again under the locks, so
    concurrent orders serialise on what they share. A holder that already holds its access
    (the step delivered twice) keeps it.
    """
    list(Service.objects.select_for_update().filter(pk__in=[s.pk for s in holders]).order_by("pk"))
    held = {service: _access_held(service) for service in holders}
    wanted = {service: demand for service, demand in holders.items() if held[service] is None}
    if wanted:
        try:
            answers = _checked_under_locks(list(wanted.values()), hold_ref)
        except NotFeasible as error:
            raise NotFeasible(error.message, field="place") from None
        taken: set[int] = set()
        for (service, demand), answer in zip(wanted.items(), answers, strict=True):
            held[service] = _access_bind(service, demand, answer, taken, with_address, by, hold_ref)
        if hold_ref:
            CapacityHold.objects.filter(
                order_ref=hold_ref, site_id__in=[demand.site_id for demand in wanted.values()]
            ).delete()
    if rebuild_paths:  # else the caller rebuilds them once for everything it binds
        paths.service_paths_rebuild([service.pk for service in holders])
    return [held[service] for service in holders]


def _access_bind(
    service: Service,
    demand: SiteDemand,
    answer: SiteFeasibility,
    taken: set[int],
    with_address: bool,
    by: str,
    hold_ref: str,
) -> SiteAccess:
    router = answer.edge_router
    port = (
        free_ports([router.pk], bandwidth=demand.bandwidth, hold_ref=hold_ref)
        .exclude(pk__in=taken)
        .first()
    )  # the PE is locked: the port the check counted is still free
    if port is None:  # held meanwhile by a direct binding that took no lock on the PE
        raise NotFeasible(
            f"{router.name} has no free port of {demand.bandwidth} Mbps.", field="place"
        )
    taken.add(port.pk)
    links = list(Resource.objects.filter(pk__in=answer.route).order_by("pk"))
    ServiceResource.objects.bulk_create(
        [
            ServiceResource(service=service, resource=router, capacity_mbps=demand.bandwidth),
            ServiceResource(
                service=service, resource=port, capacity_mbps=demand.bandwidth, is_exclusive=True
            ),
            *(
                ServiceResource(service=service, resource=link, capacity_mbps=demand.bandwidth)
                for link in links
            ),
        ]
    )
    # The paths are rebuilt once by `access_reserve`, when every site is bound.
    vlan = logical_allocate(
        kind=ResourceKind.VLAN,
        service=service,
        pool=_pool_near(ResourceKind.VLAN, router),
        by=by,
        rebuild_paths=False,
    )
    address = None
    if with_address:
        address = logical_allocate(
            kind=ResourceKind.IP_ADDRESS,
            service=service,
            pool=_pool_near(ResourceKind.IP_ADDRESS, router),
            by=by,
            rebuild_paths=False,
        )
    if service.state == ServiceState.DESIGNED:
        service_move(service, ServiceState.RESERVED, by=by)
    return SiteAccess(
        service=service, edge_router=router, port=port, vlan=vlan, address=address, links=links
    )


@transaction.atomic
def access_adjust(*, service: Service, bandwidth: int, force: bool = False) -> None:
    """Hold `bandwidth` instead of the current amount on the site's PE, port and links.

    The links are locked and counted again; growing past what a link or the port has free is
    refused naming them (`force` skips the check: compensation giving back the old amount).
    """
    bindings = _access_bindings(service)
    if not bindings:
        return
    links = [b.resource_id for b in bindings if b.resource.resource_kind in LINK_KINDS.values()]
    list(Resource.objects.select_for_update().filter(pk__in=links).order_by("pk"))
    refusal = "" if force else _adjust_refusal(bindings, bandwidth)
    if refusal:
        raise NotFeasible(refusal, field="bandwidth")
    ServiceResource.objects.filter(pk__in=[b.pk for b in bindings]).update(capacity_mbps=bandwidth)


def _access_bindings(service: Service) -> list[ServiceResource]:
    """The holds that carry a site access's bandwidth: the PE, the port, the links. None for
    a service that is no site access (a site access holds its PE port alone)."""
    bindings = list(
        ServiceResource.objects.filter(service=service)
        .exclude(state=BindingState.RELEASED)
        .filter(
            resource__resource_kind__in=[
                ResourceKind.ROUTER,
                ResourceKind.PORT,
                *LINK_KINDS.values(),
            ]
        )
        .select_related("resource")
    )
    is_access = any(
        b.is_exclusive and b.resource.resource_kind == ResourceKind.PORT for b in bindings
    )
    return bindings if is_access else []


def _adjust_refusal(bindings: list[ServiceResource], bandwidth: int) -> str:
    """Why the holds cannot grow to `bandwidth` ("" when they can)."""
    current = max(binding.capacity_mbps for binding in bindings)
    growth = bandwidth - current
    if growth <= 0:
        return ""
    for binding in bindings:
        resource = binding.resource
        if resource.resource_kind == ResourceKind.PORT and resource.capacity_mbps < bandwidth:
            return (
                f"Port {resource.name} runs at {resource.capacity_mbps} Mbps, "
                f"less than {bandwidth} Mbps."
            )
    links = {b.resource_id for b in bindings if b.resource.resource_kind in LINK_KINDS.values()}
    for name, free, in_service in _link_load(links).values():
        if not in_service or free < growth:
            return f"Link {name} lacks {growth - max(free, 0)} Mbps for {bandwidth} Mbps."
    return ""


def access_can_adjust(*, service: Service, bandwidth: int) -> bool:
    """Can the site access `service` holds carry `bandwidth` instead? (order validation)"""
    bindings = _access_bindings(service)
    return not bindings or not _adjust_refusal(bindings, bandwidth)
