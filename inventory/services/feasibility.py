"""Feasibility of enterprise access (VPN sites, Ethernet lines): can each site have a free port
on its edge router (PE) and the bandwidth on every link of the PE's path to the core, and how
fast an access can it have now. Reserving what was checked is `site_access`.

What other orders' captures hold (CapacityHold) counts as taken, but for the order asking.
Reads are set-based: one query per question (the topology: the PEs with their sites, every
route of the PEs to the core; then what orders change: the PEs' free ports, what the links
carry), however many sites are asked about.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import (
    AdministrativeState,
    BindingState,
    OperationalState,
)
from inventory.models import CapacityHold, Link, Resource, Site
from telco import clock
from telco.exceptions import DomainError

# Longest route from a PE toward the core that is followed (hops): beyond it the data loops.
MAX_HOPS = paths.MAX_HOPS
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
    port_id: int | None = None  # the free port the check counted for the site
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


def edge_routers(site_ids: Iterable[int]) -> dict[int, Resource]:
    """{site id: its PE}: the site's router with an uplink toward the core, its site read with
    it (one query)."""
    has_uplink = Exists(
        Link.objects.annotate(device=Coalesce("a_device", "a_end")).filter(device=OuterRef("pk"))
    )
    routers = (
        Resource.objects.filter(
            site_id__in=list(site_ids), resource_kind=ResourceKind.ROUTER, parent__isnull=True
        )
        .select_related("site")
        .annotate(has_uplink=has_uplink)
        .order_by("site_id", "-has_uplink", "pk")
    )
    found: dict[int, Resource] = {}
    for router in routers:
        found.setdefault(router.site_id, router)
    return found


_HOLD = CapacityHold._meta.db_table
# The checks' two reads of what orders change (they run under a reservation's locks for every
# order) are written out: the ORM took longer to compile them than PostgreSQL to run them.
# Portable SQL (the demo runs them on SQLite); `{ids}` is a list of placeholders.
_FREE_PORTS = f"""
    SELECT COALESCE(holder.parent_id, holder.id), port.capacity_mbps, port.id
    FROM {paths.RESOURCE} port JOIN {paths.RESOURCE} holder ON holder.id = port.parent_id
    WHERE port.resource_kind = %s AND port.administrative_state = %s
      AND port.operational_state = %s AND port.capacity_mbps >= %s
      AND port.parent_id IN (
          SELECT id FROM {paths.RESOURCE} WHERE id IN ({{ids}}) OR parent_id IN ({{ids}})
      )
      AND NOT EXISTS (
          SELECT 1 FROM {paths.LINK} link WHERE link.a_end_id = port.id OR link.z_end_id = port.id
      )
      AND NOT EXISTS (
          SELECT 1 FROM {paths.BINDING} binding
          WHERE binding.resource_id = port.id AND binding.state <> %s
      )
      AND NOT EXISTS (
          SELECT 1 FROM {_HOLD} hold
          WHERE hold.resource_id = port.id AND hold.expires_at > %s AND hold.order_ref <> %s
      )
    ORDER BY port.capacity_mbps, port.id
"""  # noqa: S608 - table names from model metadata, placeholders for every value
_LINK_LOAD = f"""
    SELECT link.id, link.name, link.capacity_mbps,
        COALESCE((
            SELECT SUM(binding.capacity_mbps) FROM {paths.BINDING} binding
            WHERE binding.resource_id = link.id AND binding.state <> %s
        ), 0),
        COALESCE((
            SELECT SUM(hold.capacity_mbps) FROM {_HOLD} hold
            WHERE hold.resource_id = link.id AND hold.expires_at > %s AND hold.order_ref <> %s
        ), 0),
        link.administrative_state
    FROM {paths.RESOURCE} link WHERE link.id IN ({{ids}})
"""  # noqa: S608 - table names from model metadata, placeholders for every value


def _hold_expiry_floor() -> object:
    """Now, as the database compares it with a hold's expiry (a hold in force ends later)."""
    return connection.ops.adapt_datetimefield_value(clock.now())


def free_ports(
    edge_router_ids: Iterable[int], *, bandwidth: int = 0, hold_ref: str = ""
) -> list[tuple[int, int, int]]:
    """[(PE id, speed, port id)]: the ports of the PEs (on a card or on the chassis) in
    service, fast enough for `bandwidth`, joined by no link, held by no service and by no
    other order's capture (`hold_ref` names the order asking): the ports a customer can be
    connected to, the smallest that fits first."""
    ids = sorted(edge_router_ids)
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _FREE_PORTS.format(ids=", ".join(["%s"] * len(ids))),
            [
                str(ResourceKind.PORT),
                str(AdministrativeState.UNLOCKED),
                str(OperationalState.ENABLE),
                bandwidth,
                *ids,
                *ids,
                str(BindingState.RELEASED),
                _hold_expiry_floor(),
                hold_ref,
            ],
        )
        return cursor.fetchall()


# Every route of the PEs toward the core in one statement, however many hops (`paths`' routes,
# as the service paths follow them). In hops, then link ids, order.
_ROUTES = f"""
    WITH RECURSIVE {paths.routes_cte("SELECT pe FROM UNNEST(%s::bigint[]) AS pe")}
    SELECT start, links FROM complete ORDER BY start, CARDINALITY(links), links
"""  # noqa: S608 - table and column names from model metadata; the PEs are a parameter


def routes_to_core(edge_router_ids: set[int]) -> dict[int, list[list[int]]]:
    """{PE id: its routes to the core, each a list of link ids, fewest hops first}, for every
    PE at once (a device with no uplink is the core, where a route ends)."""
    if not edge_router_ids:
        return {}
    done: dict[int, list[list[int]]] = defaultdict(list)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_ROUTES, [sorted(edge_router_ids)])
            for start, links in cursor.fetchall():
                done[start].append(links)
        return done
    # Elsewhere (SQLite: the demo) the same walk, one query per hop.
    open_routes = [(pe, pe, [], {pe}) for pe in sorted(edge_router_ids)]  # start, at, links, seen
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


def link_load(link_ids: set[int], hold_ref: str = "") -> dict[int, tuple[str, int, bool]]:
    """{link id: (name, free Mbit/s, in service)} in one query: what services carry and what
    other orders' captures hold."""
    ids = sorted(link_ids)
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _LINK_LOAD.format(ids=", ".join(["%s"] * len(ids))),
            [str(BindingState.RELEASED), _hold_expiry_floor(), hold_ref, *ids],
        )
        rows = cursor.fetchall()
    return {
        pk: (name, capacity - used - held, state == AdministrativeState.UNLOCKED)
        for pk, name, capacity, used, held, state in rows
    }


@dataclass
class NetworkTopology:
    """What serving some sites rests on that no order changes: the sites (name, region),
    their PEs and the PEs' routes to the core. A reservation reads it once, locks the PEs and
    links it names, then checks against it what orders change (free ports, link loads)."""

    names: dict[int, str]
    regions: dict[int, int]
    routers: dict[int, Resource]
    routes: dict[int, list[list[int]]]

    @property
    def elements(self) -> set[int]:
        """The ids of the PEs and of every link of their routes (what a reservation locks)."""
        return {router.pk for router in self.routers.values()} | {
            link for routes in self.routes.values() for route in routes for link in route
        }


def network_topology(site_ids: Iterable[int]) -> NetworkTopology:
    """The topology of the sites (unknown ids are left out), in a query per question."""
    site_ids = set(site_ids)
    routers = edge_routers(site_ids)
    names = {site_id: router.site.name for site_id, router in routers.items()}
    regions = {site_id: router.site.region_id for site_id, router in routers.items()}
    if site_ids - routers.keys():  # unknown, or without a PE: which, the check says
        for pk, name, region_id in Site.objects.filter(
            pk__in=site_ids - routers.keys()
        ).values_list("pk", "name", "region_id"):
            names[pk], regions[pk] = name, region_id
    routes = routes_to_core({router.pk for router in routers.values()})
    return NetworkTopology(names, regions, routers, routes)


@dataclass
class _NetworkView:
    """What the checks read about some sites, in a fixed number of queries: the topology, the
    PEs' free ports ((speed, id), slowest first) and the links' free bandwidth."""

    topology: NetworkTopology
    ports_by_router: dict[int, list[tuple[int, int]]]
    load: dict[int, tuple[str, int, bool]]

    def edge_router(self, answer: SiteFeasibility) -> Resource | None:
        """The site's PE, or None with the reason (an unknown site, a site without a PE)."""
        names = self.topology.names
        answer.site_name = names.get(answer.site_id, "")
        if answer.site_id not in names:
            answer.refuse(UNKNOWN_SITE, f"Site {answer.site_id} does not exist.")
            return None
        answer.edge_router = self.topology.routers.get(answer.site_id)
        if answer.edge_router is None:
            answer.refuse(NO_EDGE_ROUTER, f"{_site_label(answer)} has no edge router (PE).")
        return answer.edge_router

    def has_route(self, answer: SiteFeasibility) -> bool:
        if self.topology.routes.get(answer.edge_router.pk):
            return True
        # Its uplinks only loop (or run longer than MAX_HOPS): no link could be checked.
        answer.refuse(
            NO_ROUTE, f"{_site_label(answer)}: {answer.edge_router.name} has no route to the core."
        )
        return False


def _site_label(answer: SiteFeasibility) -> str:
    return f"Site {answer.site_name} ({answer.site_id})"


def _network_view(topology: NetworkTopology, hold_ref: str = "") -> _NetworkView:
    ports_by_router: dict[int, list[tuple[int, int]]] = defaultdict(list)
    ports = free_ports((router.pk for router in topology.routers.values()), hold_ref=hold_ref)
    for router_id, capacity, pk in ports:
        ports_by_router[router_id].append((capacity, pk))
    load = link_load(
        {link for each in topology.routes.values() for route in each for link in route}, hold_ref
    )
    return _NetworkView(topology, ports_by_router, load)


def feasibility_check(
    demands: list[SiteDemand], *, hold_ref: str = "", topology: NetworkTopology | None = None
) -> list[SiteFeasibility]:
    """Can each site be served with its bandwidth? One answer per demand, in order.

    A site needs a PE, a free port on it fast enough (the answer names the smallest that fits),
    and on some route from the PE to the core every link with the bandwidth free. Demands are
    counted together: two sites on one PE need two ports, and the bandwidth of all of them must
    fit on a link they share. What other orders' captures hold is taken; what the order
    `hold_ref` holds is its own. `topology`: the sites' (`network_topology`), when the caller
    read it already.
    """
    answers = [SiteFeasibility(site_id=d.site_id, bandwidth=d.bandwidth) for d in demands]
    if topology is None:
        topology = network_topology({d.site_id for d in demands})
    view = _network_view(topology, hold_ref)
    load = view.load
    for answer in answers:
        router = view.edge_router(answer)
        if router is None:
            continue
        ports = view.ports_by_router[router.pk]  # the check takes them as a reservation would
        port = next((each for each in ports if each[0] >= answer.bandwidth), None)
        if port is None:
            answer.refuse(
                NO_FREE_PORT,
                f"{_site_label(answer)}: {router.name} has no free port of "
                f"{answer.bandwidth} Mbps.",
            )
        else:
            ports.remove(port)
            answer.port_id = port[1]
        if not view.has_route(answer):
            continue
        route, shortfall = _best_route(view.topology.routes[router.pk], load, answer.bandwidth)
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
    view = _network_view(network_topology(site_ids))
    answers = [SiteFeasibility(site_id=site_id, bandwidth=0) for site_id in site_ids]
    for answer in answers:
        router = view.edge_router(answer)
        if router is None:
            continue
        fastest_port = max((speed for speed, _ in view.ports_by_router[router.pk]), default=0)
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
            for route in view.topology.routes[router.pk]
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
