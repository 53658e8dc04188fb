"""Reserving the enterprise access that `feasibility` checked: an order's capture holds a port
per site and the bandwidth on its route (`access_hold`, CapacityHold rows every other check
counts as taken); its reserve step binds each site's resource-facing service to its PE, port,
links, a VLAN and an address (`access_reserve`, turning the order's holds into bindings);
`holds_release` gives back what an order that ended still holds; `access_adjust` holds another
bandwidth on a site's port and links.

Reservations lock the PEs and links they touch in id order, check again under the locks and
bind; so two orders never take the same port and never overbook a link, and never deadlock
each other.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import LINK_KINDS, POOL_KINDS, BindingState, ServiceState
from inventory.models import CapacityHold, Resource, Service, ServiceResource
from inventory.services.feasibility import (
    NetworkTopology,
    NotFeasible,
    SiteDemand,
    SiteFeasibility,
    feasibility_check,
    link_load,
    network_topology,
)
from inventory.services.pools import logical_allocate
from inventory.services.service_lifecycle import services_move
from telco import clock
from telco.transactions import atomic_in_caller


@dataclass
class SiteAccess:
    """What a site's access holds: the PE, the port, the VLAN and address on it, the links."""

    service: Service
    edge_router: Resource
    port_id: int
    vlan: Resource
    address: Resource | None
    link_ids: list[int]


def _pools_near(
    routers: dict[int, int], kinds: list[str]
) -> dict[tuple[str, int], Resource | None]:
    """{(kind, PE id): the pool of `kind` on the PE, else one in the PE's region, else one
    whose parent is in it, else None (any pool)}. `routers`: {PE id: its region}. One query
    when every PE has its own pools (the usual case)."""
    pools = Resource.objects.filter(resource_kind__in=[POOL_KINDS[kind] for kind in kinds])
    found: dict[tuple[str, int], Resource | None] = {}
    for pool in pools.filter(parent_id__in=routers).order_by("pk"):
        found.setdefault((pool.resource_kind, pool.parent_id), pool)
    near = {}
    for kind in kinds:
        of_kind = pools.filter(resource_kind=POOL_KINDS[kind]).order_by("pk")
        for router, region in routers.items():
            near[kind, router] = found.get((POOL_KINDS[kind], router))
            if near[kind, router] is None:
                near[kind, router] = (
                    of_kind.filter(site__region_id=region).first()
                    or of_kind.filter(parent__site__region_id=region).first()
                )
    return near


def _access_held(service: Service) -> SiteAccess | None:
    bindings = list(
        ServiceResource.objects.filter(service=service)
        .exclude(state=BindingState.RELEASED)
        .select_related("resource")
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
        port_id=by_kind[ResourceKind.PORT][0].pk,
        vlan=by_kind[ResourceKind.VLAN][0],
        address=(by_kind.get(ResourceKind.IP_ADDRESS) or [None])[0],
        link_ids=[
            b.resource_id for b in bindings if b.resource.resource_kind in LINK_KINDS.values()
        ],
    )


def _checked_under_locks(
    demands: list[SiteDemand], hold_ref: str
) -> tuple[list[SiteFeasibility], NetworkTopology]:
    """Check the demands with their PEs and every link of the PEs' routes locked (id order),
    so concurrent orders serialise on what they share: `NotFeasible` (field `place[n]`, the
    first demand that fails) or the answers (each naming its port and route) and the topology
    they were checked on."""
    # The topology is read once, before the locks: what it names is what is locked, and the
    # check under the locks reads again only what orders change (free ports, link loads).
    topology = network_topology({demand.site_id for demand in demands})
    list(
        Resource.objects.select_for_update()
        .filter(pk__in=topology.elements)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    answers = feasibility_check(demands, hold_ref=hold_ref, topology=topology)
    for index, answer in enumerate(answers):
        if not answer.is_feasible:
            raise NotFeasible(answer.message, field=f"place[{index}]")
    return answers, topology


@transaction.atomic
def access_hold(*, order_ref: str, demands: list[SiteDemand]) -> list[CapacityHold]:
    """Hold for the order what serving the sites takes: a port on each PE and the bandwidth on
    every link of its route, until CAPACITY_HOLD_MINUTES (all or none: `NotFeasible`, field
    `place[n]`, names the first demand that cannot be served now)."""
    if not demands:
        return []
    answers, _ = _checked_under_locks(demands, order_ref)
    expires_at = clock.now() + timedelta(minutes=settings.CAPACITY_HOLD_MINUTES)
    return CapacityHold.objects.bulk_create(
        CapacityHold(
            order_ref=order_ref,
            site_id=answer.site_id,
            resource_id=resource_id,
            capacity_mbps=answer.bandwidth,
            is_exclusive=is_port,
            expires_at=expires_at,
        )
        for answer in answers
        for resource_id, is_port in [
            (answer.port_id, True),
            *((link, False) for link in answer.route),
        ]
    )


def holds_release(*, order_ref: str) -> int:
    """Give back what the order's capture holds (it ended, or its sites are bound)."""
    deleted, _ = CapacityHold.objects.filter(order_ref=order_ref).delete()
    return deleted


# No savepoint of its own: it refuses (NotFeasible) before it writes, and a pool exhausted
# after it wrote must abort the caller's transaction (the reserve step's) anyway.
@atomic_in_caller()
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
    states = _holders_locked(list(holders))
    held = {
        service: _access_held(service) if states[service.pk][1] else None for service in holders
    }
    wanted = {service: demand for service, demand in holders.items() if held[service] is None}
    if wanted:
        try:
            answers, topology = _checked_under_locks(list(wanted.values()), hold_ref)
        except NotFeasible as error:
            raise NotFeasible(error.message, field="place") from None
        held.update(_access_bind(wanted, answers, topology, with_address, by))
        services_move(
            [service for service in wanted if states[service.pk][0] == ServiceState.DESIGNED],
            ServiceState.RESERVED,
            by=by,
        )
        if hold_ref:
            CapacityHold.objects.filter(
                order_ref=hold_ref, site_id__in=[demand.site_id for demand in wanted.values()]
            ).delete()
    if rebuild_paths:  # else the caller rebuilds them once for everything it binds
        paths.service_paths_rebuild([service.pk for service in holders])
    return [held[service] for service in holders]


def _holders_locked(services: list[Service]) -> dict[int, tuple[str, bool]]:
    """Lock the services (id order): {id: (its state, whether it holds a PE port already)}, in
    one statement. Two deliveries of one reservation serialise here; the second finds the
    access held."""
    holds_port = ServiceResource.objects.filter(
        service_id=OuterRef("pk"), resource__resource_kind=ResourceKind.PORT
    ).exclude(state=BindingState.RELEASED)
    rows = (
        Service.objects.select_for_update()
        .filter(pk__in=[service.pk for service in services])
        .order_by("pk")
        .annotate(holds_port=Exists(holds_port))
        .values_list("pk", "state", "holds_port")
    )
    return {pk: (state, holds) for pk, state, holds in rows}


def _access_bind(
    wanted: dict[Service, SiteDemand],
    answers: list[SiteFeasibility],
    topology: NetworkTopology,
    with_address: bool,
    by: str,
) -> dict[Service, SiteAccess]:
    """Bind each service to the PE, port and links its answer names (checked under the locks:
    still free), in one INSERT, then a VLAN (and an address) from the pools nearest its PE."""
    ServiceResource.objects.bulk_create(
        binding
        for (service, demand), answer in zip(wanted.items(), answers, strict=True)
        for binding in (
            ServiceResource(
                service=service, resource=answer.edge_router, capacity_mbps=demand.bandwidth
            ),
            ServiceResource(
                service=service,
                resource_id=answer.port_id,
                capacity_mbps=demand.bandwidth,
                is_exclusive=True,
            ),
            *(
                ServiceResource(service=service, resource_id=link, capacity_mbps=demand.bandwidth)
                for link in sorted(answer.route)
            ),
        )
    )
    kinds = [ResourceKind.VLAN, *([ResourceKind.IP_ADDRESS] if with_address else [])]
    pools = _pools_near(
        {answer.edge_router.pk: topology.regions[answer.site_id] for answer in answers}, kinds
    )
    accesses = {}
    for service, answer in zip(wanted, answers, strict=True):
        router = answer.edge_router
        # The paths are rebuilt once by `access_reserve`, when every site is bound. The holder
        # is locked and holds no port (`_holders_locked`), so nothing of its access: a site's
        # access is bound in one transaction.
        allocated = [
            logical_allocate(
                kind=kind,
                service=service,
                pool=pools[kind, router.pk],
                by=by,
                rebuild_paths=False,
                holds_none=True,
            )
            for kind in kinds
        ]
        accesses[service] = SiteAccess(
            service=service,
            edge_router=router,
            port_id=answer.port_id,
            vlan=allocated[0],
            address=allocated[1] if with_address else None,
            link_ids=sorted(answer.route),
        )
    return accesses


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
    for name, free, in_service in link_load(links).values():
        if not in_service or free < growth:
            return f"Link {name} lacks {growth - max(free, 0)} Mbps for {bandwidth} Mbps."
    return ""


def access_can_adjust(*, service: Service, bandwidth: int) -> bool:
    """Can the site access `service` holds carry `bandwidth` instead? (order validation)"""
    bindings = _access_bindings(service)
    return not bindings or not _adjust_refusal(bindings, bandwidth)
