"""Capacity on the radio network: a service's bandwidth reserved on a gNB with a slice on it,
adjusted when the bandwidth changes, and the feasibility checks orders validate with."""

from django.db import connection, models, transaction

from catalog.choices import ResourceKind
from inventory import paths, selectors
from inventory.choices import (
    AdministrativeState,
    BindingState,
    OperationalState,
    ResourceCategory,
    ResourceStatus,
    ServiceState,
)
from inventory.models import Resource, Service, ServiceResource
from inventory.services.service_lifecycle import services_move
from inventory.services.site_access import access_adjust, access_can_adjust
from telco import clock
from telco.exceptions import DomainError
from telco.transactions import atomic_in_caller
from telco.units import parse_bandwidth_mbps

# A product whose characteristics name no bandwidth still takes a share of the cell.
DEFAULT_BANDWIDTH_MBPS = 100
# The kinds whose capacity follows a service's bandwidth.
NETWORK_KINDS = (ResourceKind.GNB, ResourceKind.SLICE)
# The slice/service type of enhanced mobile broadband (3GPP TS 23.501), used for every slice.
SLICE_SERVICE_TYPE = 1


def bandwidth_mbps(value: str | None) -> int:
    """Parse "1Gbps" / "500Mbps" into Mbit/s; no value gives the default bandwidth."""
    if value in (None, ""):
        return DEFAULT_BANDWIDTH_MBPS
    mbps = parse_bandwidth_mbps(value)
    if mbps is None:
        raise DomainError(f"'{value}' is not a bandwidth such as 500Mbps or 1Gbps.")
    return mbps


def capacity_is_feasible(*, bandwidth: int, customer: models.Model | None = None) -> bool:
    """Is there a gNB in service with `bandwidth` Mbit/s free? (order validation)"""
    return selectors.gnb_candidates(bandwidth=bandwidth, customer=customer).exists()


def _free_capacity(gnb: Resource) -> int:
    held = (
        ServiceResource.objects.filter(resource=gnb)
        .exclude(state=BindingState.RELEASED)
        .values_list("capacity_mbps", flat=True)
    )
    return gnb.capacity_mbps - sum(held)


# The gNBs in service with `bandwidth` Mbit/s free, ranked as `selectors.gnb_candidates`
# ranks them (the customer's region first, then the freest), the first locked (`{skip}`: SKIP
# LOCKED passes over the gNBs other reservations hold). Written out for the reservation of
# every 5G order: three querysets (rank, lock, count) were a tenth of its Python.
GNB_SQL = """
    SELECT gnb.* FROM (
        SELECT candidate.*, candidate.capacity_mbps - COALESCE((
            SELECT SUM(binding.capacity_mbps) FROM {binding} binding
            WHERE binding.resource_id = candidate.id AND binding.state <> %(released)s
        ), 0) AS free_mbps
        FROM {resource} candidate
        WHERE candidate.resource_kind = %(gnb)s
          AND candidate.administrative_state = %(unlocked)s
          AND candidate.operational_state = %(enabled)s
    ) ranked
    JOIN {resource} gnb ON gnb.id = ranked.id
    WHERE ranked.free_mbps >= %(bandwidth)s
    ORDER BY {local} DESC, ranked.free_mbps DESC, gnb.id
    LIMIT 1 FOR UPDATE OF gnb {skip}
"""


def _lock_gnb_with_capacity(*, bandwidth: int, customer: models.Model | None) -> Resource:
    # The best candidate is locked in the statement that ranks them; its free capacity is then
    # counted again (a statement of its own sees what the transaction that held the lock
    # committed), so two orders racing for the last megabits serialise on the gNB row.
    # Concurrent reservations first skip the gNBs another one holds (all of them ranked the
    # same gNB first and queued on it for its whole reservation), as PON ports do; when every
    # candidate is held, they wait, in rank order.
    parameters = {
        "gnb": ResourceKind.GNB,
        "unlocked": AdministrativeState.UNLOCKED,
        "enabled": OperationalState.ENABLE,
        "released": BindingState.RELEASED,
        "bandwidth": bandwidth,
        "city": selectors.customers_city(customer),
    }
    tables = {
        "resource": Resource._meta.db_table,
        "binding": ServiceResource._meta.db_table,
        "local": selectors.customers_region_sites_sql("gnb.site_id"),
    }
    skip = "SKIP LOCKED"
    for _attempt in range(5):
        statement = GNB_SQL.format(skip=skip, **tables)
        gnb = next(iter(Resource.objects.raw(statement, parameters)), None)
        if gnb is None:
            if not skip:
                break
            skip = ""  # none free, or every one held by another reservation: wait for one
            continue
        if _free_capacity(gnb) >= bandwidth:
            return gnb
    raise DomainError(f"No gNB has {bandwidth} Mbps of free capacity.", field="bandwidth")


@atomic_in_caller()
def capacity_reserve(
    *,
    service: Service,
    bandwidth: int,
    customer: models.Model | None = None,
    by: str = "",
    gnb_holder: Service | None = None,
    slice_holder: Service | None = None,
    rebuild_paths: bool = True,
) -> list[ServiceResource]:
    """Reserve `bandwidth` on a gNB and allocate a slice on it, both bound to the service, or
    to its resource-facing children `gnb_holder` and `slice_holder` when it has them.

    Calling it again for a service that already holds its reservation returns that reservation.
    `rebuild_paths=False`: the caller rebuilds the service's paths once it has bound all it
    reserves (the workflow's reserve step, which also takes pool members).
    """
    # The service row is locked first: two deliveries of the same step reserve once.
    Service.objects.select_for_update().get(pk=service.pk)
    if holds_bindings(service):
        return held_bindings(service)
    gnb_holder = gnb_holder or service
    slice_holder = slice_holder or service
    gnb = _lock_gnb_with_capacity(bandwidth=bandwidth, customer=customer)
    slice_resource = Resource.objects.create(
        name=f"slice-{service.pk}",
        resource_kind=ResourceKind.SLICE,
        category=ResourceCategory.LOGICAL,
        parent=gnb,
        site_id=gnb.site_id,
        capacity_mbps=bandwidth,
        resource_status=ResourceStatus.RESERVED,
        # The S-NSSAI (sst-sd) is unique in the inventory, like every slice pool's members.
        value=f"{SLICE_SERVICE_TYPE}-{service.pk:06x}",
        characteristics={"sNssai": {"sst": SLICE_SERVICE_TYPE, "sd": f"{service.pk:06x}"}},
    )
    bindings = ServiceResource.objects.bulk_create(
        [
            ServiceResource(
                service=gnb_holder,
                resource=gnb,
                capacity_mbps=bandwidth,
                state=BindingState.RESERVED,
            ),
            ServiceResource(
                service=slice_holder,
                resource=slice_resource,
                capacity_mbps=bandwidth,
                is_exclusive=True,
                state=BindingState.RESERVED,
            ),
        ]
    )
    holders = {service.pk: service, gnb_holder.pk: gnb_holder, slice_holder.pk: slice_holder}
    services_move(list(holders.values()), ServiceState.RESERVED, by=by)
    if rebuild_paths:
        paths.service_paths_rebuild([service.pk])
    return bindings


HOLDS_BINDINGS_SQL = """
    SELECT EXISTS (
        SELECT 1 FROM {binding}
        WHERE state <> %(released)s AND service_id IN (
            SELECT id FROM {service} WHERE id = %(service)s
            UNION ALL
            SELECT id FROM {service} WHERE parent_id = %(service)s
        )
    )
"""


def holds_bindings(service: Service) -> bool:
    """Does the service or one of its resource-facing children hold anything? What a
    reservation asks first, for every order (a second delivery finds its reservation made):
    written out, where `held_bindings` compiles a queryset of three tables."""
    statement = HOLDS_BINDINGS_SQL.format(
        binding=ServiceResource._meta.db_table, service=Service._meta.db_table
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, {"released": BindingState.RELEASED, "service": service.pk})
        return cursor.fetchone()[0]


def held_bindings(service: Service) -> list[ServiceResource]:
    """The bindings a service and its resource-facing children hold, in binding order."""
    return list(
        ServiceResource.objects.filter(service__in=selectors.service_tree_ids(service))
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
    if binding is None:
        # Enterprise access: each site (a resource-facing child) holds its port and links.
        return all(
            access_can_adjust(service=child, bandwidth=bandwidth)
            for child in service.children.exclude(state=ServiceState.TERMINATED)
        )
    if bandwidth <= binding.capacity_mbps:
        return True
    return _free_capacity(binding.resource) + binding.capacity_mbps >= bandwidth


@transaction.atomic
def capacity_adjust(
    *, service: Service, bandwidth: int, force: bool = False
) -> ServiceResource | None:
    """Hold `bandwidth` on the service's gNB (and its slice) instead of the current amount.

    The gNB row is locked and its free capacity counted again, so two changes racing for the
    last megabits serialise. `force` skips the check (compensation giving back the old amount).
    Returns the gNB binding, or None for a service holding no gNB capacity (an enterprise
    service: its sites' ports and links are adjusted instead, `site_access.access_adjust`).
    """
    binding = _gnb_binding(service)
    if binding is None:
        # Enterprise access: every site's port and links hold the new bandwidth (or none).
        for child in service.children.exclude(state=ServiceState.TERMINATED).order_by("pk"):
            access_adjust(service=child, bandwidth=bandwidth, force=force)
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
