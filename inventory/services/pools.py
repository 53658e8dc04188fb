"""Logical inventory: pools and their members (IP addresses, VLANs, MSISDNs, SIMs, slices,
route targets),
each member allocated to at most one service and given back when the service lets it go."""

import ipaddress
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery

from catalog.choices import ResourceKind
from inventory import paths, selectors
from inventory.choices import (
    POOL_KINDS,
    AdministrativeState,
    BindingState,
    ResourceCategory,
    ResourceStatus,
    UsageState,
)
from inventory.models import GLOBALLY_UNIQUE_KINDS, Resource, Service, ServiceResource
from inventory.services.resources import resource_name_ensure_free
from telco import clock
from telco.db import statements_planned_each_time
from telco.exceptions import DomainError
from telco.transactions import atomic_in_caller

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
    resource_name_ensure_free(name)
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
def ip_prefix_create(
    *, name: str, prefix: str, site=None, device: Resource | None = None
) -> Resource:
    """An IP prefix ("10.1.0.0/24") and its host addresses, ready to be allocated; on a device
    (a BNG's subscriber addresses) when given."""
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
        pool_kind=ResourceKind.IP_PREFIX,
        name=name,
        value=str(network),
        members=members,
        parent=device,
        site=device.site if device is not None else site,
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
def route_target_pool_create(*, name: str, asn: int, first: int, last: int) -> Resource:
    """VPN route targets "<asn>:<n>" for n in first..last (RFC 4360 two-octet AS form)."""
    if not 1 <= asn <= 65535:
        raise DomainError("A route target's AS number is 1 to 65535.", field="asn")
    if not 0 <= first <= last <= 0xFFFFFFFF or last - first >= 100_000:
        raise DomainError("Route target numbers run first to last, at most 100000.", field="first")
    members = [(f"rt-{asn}:{n}", f"{asn}:{n}", {}) for n in range(first, last + 1)]
    return _pool_with_members(
        pool_kind=ResourceKind.ROUTE_TARGET_POOL,
        name=name,
        value=f"{asn}:{first}-{last}",
        members=members,
    )


def _bind_first_free(
    kind: str, pool_id: int | None, service: Service
) -> tuple[Resource | None, bool]:
    """Lock the first free member of `kind` in the pool `pool_id` (else in any pool of the
    kind; `selectors.pool_free_members`), bind it to `service` (exclusive, reserved) and mark it
    reserved: (the member or None when none is free, whether it was bound). Not bound: the
    binding's partial unique constraint refused it (taken by a transaction that committed after
    our snapshot), nothing written.

    On PostgreSQL one statement: the pick, a savepoint, the binding, its release and the mark
    were five round trips, for each of the two to five members an activation takes."""
    now = clock.now()
    taken = {
        "resource_status": ResourceStatus.RESERVED,
        "usage_state": UsageState.BUSY,
        "last_update": now,
    }
    if connection.vendor == "postgresql":
        resource, bound = _bind_first_free_in_one_statement(kind, pool_id, service, taken, now)
    else:
        free = selectors.pool_free_members(kind, pool=pool_id).select_for_update(skip_locked=True)
        resource, bound = _bind_first_free_by_orm(free[:1], service, taken)
    if bound:  # the member as it was read, before it was marked
        for name, value in taken.items():
            setattr(resource, name, value)
    return resource, bound


RESOURCE = Resource._meta.db_table
BINDING = ServiceResource._meta.db_table
SERVICE = Service._meta.db_table
# `selectors.pool_free_members` written out, so that allocating (every activation, two to five
# times) compiles no queryset: that was half of an allocation's time in the worker.
FREE_MEMBER = """
    member.resource_kind = %(kind)s AND member.administrative_state = %(unlocked)s
    AND NOT EXISTS (
        SELECT 1 FROM {binding} held
        WHERE held.resource_id = member.id AND held.is_exclusive AND held.state <> %(released)s
    )"""
# In a named pool, next fit: the first free member after the last one taken (`AFTER_LAST_TAKEN`),
# else (the pool's end reached) the first free one from its start (after 0). Walking from the
# start every time passed every member taken so far, a walk that grew with the pool's use (a
# thousand held numbers were milliseconds of every allocation). A released member is given
# again once the pool has come round, as operators hold a number back before they reuse it.
# (SQLite, the embedded demo, takes the first free member from the start.)
FREE_IN_POOL_SQL = f"""
    SELECT member.* FROM {RESOURCE} member
    WHERE member.parent_id = %(pool)s AND {FREE_MEMBER.format(binding=BINDING)}
      AND member.id > {{after}}
    ORDER BY member.id LIMIT 1 FOR UPDATE OF member SKIP LOCKED
"""  # noqa: S608 - table names from model metadata; every value is a parameter
AFTER_LAST_TAKEN = f"""(
    SELECT coalesce(max(taken.resource_id), 0) FROM {BINDING} taken
    WHERE taken.is_exclusive AND taken.state <> %(released)s
      AND taken.resource_id BETWEEN (
          SELECT min(id) FROM {RESOURCE} WHERE parent_id = %(pool)s AND resource_kind = %(kind)s
      ) AND (
          SELECT max(id) FROM {RESOURCE} WHERE parent_id = %(pool)s AND resource_kind = %(kind)s
      )
)"""  # noqa: S608 - table names from model metadata; every value is a parameter
# In any pool of the kind (several, none named): the first free member, the pools a subquery
# (a caller's FOR UPDATE locks the members only).
FREE_IN_ANY_POOL_SQL = f"""
    SELECT member.* FROM {RESOURCE} member
    WHERE member.parent_id IN (SELECT id FROM {RESOURCE} WHERE resource_kind = %(pool_kind)s)
      AND {FREE_MEMBER.format(binding=BINDING)}
    ORDER BY member.id LIMIT 1 FOR UPDATE OF member SKIP LOCKED
"""  # noqa: S608 - table names from model metadata; every value is a parameter
BIND_FIRST_FREE_SQL = f"""
    WITH picked AS ({{free}}),
    bound AS (
        INSERT INTO {BINDING}
            (service_id, resource_id, capacity_mbps, is_exclusive, state, created_at)
        SELECT %(service)s, picked.id, 0, TRUE, %(reserved)s, %(now)s FROM picked
        ON CONFLICT DO NOTHING
        RETURNING resource_id
    ),
    marked AS (
        UPDATE {RESOURCE}
        SET resource_status = %(resource_status)s, usage_state = %(usage_state)s,
            last_update = %(last_update)s
        WHERE id IN (SELECT resource_id FROM bound)
    )
    SELECT picked.*, EXISTS (SELECT 1 FROM bound) AS is_bound FROM picked
"""  # noqa: S608 - table names from model metadata; every value is a parameter
# The member of `kind` (of the pool, when one is named) the service holds already, and the
# first two pools of the kind, with the service's row locked: two deliveries of the same
# workflow step for one service serialise on it.
HELD_AND_POOLS_SQL = f"""
    SELECT (
        SELECT binding.resource_id FROM {BINDING} binding
        JOIN {RESOURCE} member ON member.id = binding.resource_id
        WHERE binding.service_id = service.id AND binding.is_exclusive
          AND binding.state <> %(released)s AND member.resource_kind = %(kind)s
          AND (%(pool)s::bigint IS NULL OR member.parent_id = %(pool)s)
        ORDER BY binding.id LIMIT 1
    ), ARRAY(SELECT id FROM {RESOURCE} WHERE resource_kind = %(pool_kind)s ORDER BY id LIMIT 2)
    FROM {SERVICE} service WHERE service.id = %(service)s FOR UPDATE OF service
"""  # noqa: S608 - table names from model metadata; every value is a parameter


def _bind_first_free_in_one_statement(
    kind: str, pool_id: int | None, service: Service, taken: dict, now: datetime
) -> tuple[Resource | None, bool]:
    if pool_id is None:
        picks = [FREE_IN_ANY_POOL_SQL]
    else:
        picks = [FREE_IN_POOL_SQL.format(after=AFTER_LAST_TAKEN), FREE_IN_POOL_SQL.format(after=0)]
    parameters = {
        "kind": kind,
        "pool_kind": POOL_KINDS[kind],
        "pool": pool_id,
        "unlocked": AdministrativeState.UNLOCKED,
        "released": BindingState.RELEASED,
        "service": service.pk,
        "reserved": BindingState.RESERVED,
        "now": now,
        **taken,
    }
    for pick in picks:
        statement = BIND_FIRST_FREE_SQL.format(free=pick)
        resource = next(iter(Resource.objects.raw(statement, parameters)), None)
        if resource is not None:
            break
    if resource is None:
        return None, False
    bound = resource.is_bound
    del resource.is_bound
    return resource, bound


def _bind_first_free_by_orm(
    free: QuerySet[Resource], service: Service, taken: dict
) -> tuple[Resource | None, bool]:
    """`_bind_first_free` where data-modifying CTEs are missing (SQLite: the demo)."""
    resource = free.first()
    if resource is None:
        return None, False
    try:
        with transaction.atomic():
            ServiceResource.objects.create(
                service=service, resource=resource, is_exclusive=True, state=BindingState.RESERVED
            )
    except IntegrityError:
        return resource, False
    Resource.objects.filter(pk=resource.pk).update(**taken)
    return resource, True


def _held_and_pools(kind: str, service: Service, pool: Resource | None) -> tuple[int | None, list]:
    """(the id of the member of `kind` the service holds, or None; the first two pools of the
    kind), the service's row locked."""
    if connection.vendor == "postgresql":
        parameters = {
            "released": BindingState.RELEASED,
            "kind": kind,
            "pool": pool.pk if pool is not None else None,
            "pool_kind": POOL_KINDS[kind],
            "service": service.pk,
        }
        # Planned for its parameters (whether a pool is named): a generic plan, within an
        # activation's prepared statements, read every binding of the kind.
        with statements_planned_each_time(), connection.cursor() as cursor:
            cursor.execute(HELD_AND_POOLS_SQL, parameters)
            row = cursor.fetchone()
        if row is None:
            raise Service.DoesNotExist(f"Service {service.pk} does not exist.")
        return row
    held = selectors.pool_bindings_held(kind).filter(service=OuterRef("pk"))
    if pool is not None:
        held = held.filter(resource__parent=pool)
    pools = Resource.objects.filter(resource_kind=POOL_KINDS[kind]).order_by("pk").values("pk")
    held_id, *first_pools = (
        Service.objects.select_for_update()
        .filter(pk=service.pk)
        .annotate(
            held_id=Subquery(held.order_by("pk").values("resource_id")[:1]),
            first_pool=Subquery(pools[:1]),
            second_pool=Subquery(pools[1:2]),
        )
        .values_list("held_id", "first_pool", "second_pool")
        .get()
    )
    return held_id, [pk for pk in first_pools if pk is not None]


@atomic_in_caller()
def logical_allocate(
    *,
    kind: str,
    service: Service,
    pool: Resource | None = None,
    by: str = "",
    rebuild_paths: bool = True,
    holds_none: bool = False,
) -> Resource:
    """Give `service` one free member of `pool` (or of any pool of that kind): an IP address,
    a VLAN, an MSISDN, a SIM or a network slice. At most once, whatever the concurrency.

    A free member is picked with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent orders take
    different members without waiting; the exclusive binding's partial unique constraint is
    the last word, and a pick that lost a race to it is retried. Asking again for a service
    that already holds one of that kind (from that pool) returns the one it holds.

    `rebuild_paths=False`: the caller rebuilds the service's paths itself once it has bound
    everything it reserves (one rebuild per reservation, not one per member).
    `holds_none=True`, with a `pool`: the caller holds the service's row lock and has just found
    that it holds nothing (a reservation binding what it checked), so what it holds and which
    pools there are need not be read again.
    """
    if kind not in POOL_KINDS:
        raise DomainError(
            f"'{kind}' is not allocated from pools ({', '.join(POOL_KINDS)}).", field="kind"
        )
    if pool is not None and pool.resource_kind != POOL_KINDS[kind]:
        raise DomainError(f"{pool.name} is not a pool of {kind}.", field="pool")
    if holds_none and pool is not None:
        pool_id = pool.pk
    else:
        # Two deliveries of the same workflow step for one service serialise on its row, locked
        # by the statement that reads what it holds and which pools there are.
        held_id, pools = _held_and_pools(kind, service, pool)
        if held_id is not None:
            return Resource.objects.get(pk=held_id)
        # The only pool of the kind is named: picking from it walks its members in id order; of
        # several, any is asked and the picks are sorted.
        only_pool = pools[0] if len(pools) == 1 else None
        pool_id = pool.pk if pool is not None else only_pool
    for _attempt in range(5):
        resource, bound = _bind_first_free(kind, pool_id, service)
        if resource is None:
            where = f"pool {pool.name}" if pool is not None else f"any {POOL_KINDS[kind]}"
            raise PoolExhausted(f"No free {kind} is left in {where}.", field="pool")
        if not bound:
            continue  # taken by a transaction that committed after our snapshot: pick again
        if rebuild_paths:
            paths.service_paths_rebuild([service.pk])
        return resource
    raise PoolExhausted(f"Could not allocate a {kind}: the pool is contended.", field="pool")


def pool_members_return(resource_ids: Iterable[int] | QuerySet, at: datetime) -> None:
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
    pool_members_return(resource_ids, clock.now())
    paths.service_paths_rebuild([service.pk])
    return released
