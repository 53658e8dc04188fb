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

from catalog.choices import ResourceKind
from inventory import paths
from inventory.choices import LINK_KINDS, POOL_KINDS, BindingState, ServiceState
from inventory.models import CapacityHold, Resource, Service, ServiceResource
from inventory.services.feasibility import (
    NotFeasible,
    SiteDemand,
    SiteFeasibility,
    edge_routers,
    feasibility_check,
    free_ports,
    link_load,
    routes_to_core,
)
from inventory.services.pools import logical_allocate
from inventory.services.service_lifecycle import service_move
from telco import clock


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
    # What to lock needs the sites' PEs only, not a whole check (free ports, link loads):
    # the check that counts is the one under the locks.
    routers = {router.pk for router in edge_routers({d.site_id for d in demands}).values()}
    # Every link of every route of the PEs: the check under the locks may take any of them.
    lock = routers | {
        link for routes in routes_to_core(routers).values() for route in routes for link in route
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
    def allocate_near(kind: str) -> Resource:
        pool = _pool_near(kind, router)
        return logical_allocate(kind=kind, service=service, pool=pool, by=by, rebuild_paths=False)

    vlan = allocate_near(ResourceKind.VLAN)
    address = allocate_near(ResourceKind.IP_ADDRESS) if with_address else None
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
    for name, free, in_service in link_load(links).values():
        if not in_service or free < growth:
            return f"Link {name} lacks {growth - max(free, 0)} Mbps for {bandwidth} Mbps."
    return ""


def access_can_adjust(*, service: Service, bandwidth: int) -> bool:
    """Can the site access `service` holds carry `bandwidth` instead? (order validation)"""
    bindings = _access_bindings(service)
    return not bindings or not _adjust_refusal(bindings, bandwidth)
