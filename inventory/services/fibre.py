"""Fibre to the home: a line's access (a PON port on an OLT serving the customer's region and
an ONT registered on it), its VLAN and its address from the pools of the BNG the OLT is
uplinked to, each bound to the resource-facing service that holds it."""

import json
import re

from django.db import IntegrityError, models, transaction

from catalog.choices import ResourceKind
from inventory import paths, selectors
from inventory.choices import (
    AdministrativeState,
    BindingState,
    OperationalState,
    ResourceCategory,
    ResourceStatus,
    ServiceState,
    UsageState,
)
from inventory.models import Link, Resource, Service, ServiceResource
from inventory.services.capacity import held_bindings, holds_bindings
from inventory.services.pools import logical_allocate
from inventory.services.service_lifecycle import services_move
from telco import clock
from telco.db import statements_planned_each_time
from telco.exceptions import DomainError
from telco.transactions import atomic_in_caller

# A port's `characteristics["portType"]` that makes it a PON port ONTs register on.
PON_PORT_TYPE = "pon"
# GPON splits one port 1:32 in the operator's outside plant: ONT ids 1..32 per port.
ONTS_PER_PON_PORT = 32
# A GPON serial: four letters of vendor id and eight hex digits (ITU-T G.984.3).
ONT_SERIAL_PATTERN = re.compile(r"^[A-Z]{4}[0-9A-F]{8}$")
# The vendor id of ONTs the operator registers without a serial from the order.
OPERATOR_VENDOR_ID = "TLCO"


class FibreNotFeasible(DomainError):
    """No OLT serving the customer has a free PON port with a BNG behind it."""

    status_code = 409
    code = "notFeasible"


# The first PON port in id order (`{local}`: at a site of the customer's region) that is in
# service, on an OLT in service (directly or on one of its cards), with fewer than
# ONTS_PER_PON_PORT ONTs, with its OLT; `{lock}`: locked by a reservation (SKIP LOCKED passes
# over the ports other reservations hold), nothing for the order's feasibility. Written out:
# as a ranked queryset it took 1 ms to plan and 3 ms to run at 200 lines (this: 0.4 and
# 0.1-1.1 ms), and compiling it was a tenth of a fibre reservation's Python.
PON_PORT_SQL = """
    WITH olt AS MATERIALIZED (
        SELECT id, name FROM {resource}
        WHERE resource_kind = %(olt)s
          AND administrative_state = %(unlocked)s AND operational_state = %(enabled)s
    ),
    holder(id, olt_id) AS MATERIALIZED (
        SELECT id, id FROM olt
        UNION ALL
        SELECT card.id, card.parent_id FROM {resource} card
        WHERE card.parent_id IN (SELECT id FROM olt)
    ),
    picked AS (
        SELECT port.* FROM {resource} port
        WHERE port.resource_kind = %(port)s
          AND port.characteristics -> 'portType' = %(pon)s::jsonb
          AND port.administrative_state = %(unlocked)s
          AND port.operational_state = %(enabled)s
          AND port.parent_id IN (SELECT id FROM holder)
          AND (
            SELECT COUNT(*) FROM {resource} ont
            WHERE ont.parent_id = port.id AND ont.resource_kind = %(ont)s
          ) < %(per_port)s
          {local}
        ORDER BY port.id LIMIT 1 {lock}
    )
    SELECT picked.*, olt.id AS olt_id, olt.name AS olt_name
    FROM picked JOIN holder ON holder.id = picked.parent_id JOIN olt ON olt.id = holder.olt_id
"""


def _first_pon_port(customer: models.Model | None, *, locks: tuple[str, ...]) -> Resource | None:
    """The first PON port for the customer (one of their region's first), as PON_PORT_SQL
    finds it, with its `olt_id` and `olt_name`: tried with each of `locks` in turn."""
    city = selectors.customers_city(customer)
    parameters = {
        "olt": ResourceKind.OLT,
        "port": ResourceKind.PORT,
        "ont": ResourceKind.ONT,
        "pon": json.dumps(PON_PORT_TYPE),
        "unlocked": AdministrativeState.UNLOCKED,
        "enabled": OperationalState.ENABLE,
        "per_port": ONTS_PER_PON_PORT,
        "city": city,
    }
    local = "AND " + selectors.customers_region_sites_sql("port.site_id")
    places = (local, "") if city else ("",)
    for lock, where in ((lock, where) for lock in locks for where in places):
        statement = PON_PORT_SQL.format(resource=Resource._meta.db_table, local=where, lock=lock)
        # Planned for its parameters: a generic plan, within an activation's prepared
        # statements, read every port.
        with statements_planned_each_time():
            port = next(iter(Resource.objects.raw(statement, parameters)), None)
        if port is not None:
            return port
    return None


def ftth_is_feasible(*, customer: models.Model | None = None) -> bool:
    """Is there a PON port with a free ONT id for the customer? (order validation)"""
    return _first_pon_port(customer, locks=("",)) is not None


def _lock_pon_port(customer: models.Model | None) -> tuple[Resource, int]:
    """A PON port, locked, with its OLT's id and name (`olt_id`, `olt_name`), and the lowest
    ONT id free on it; one in the customer's region first.

    Concurrent reservations skip each other's ports (SKIP LOCKED); when every candidate is
    being used by another one, this waits for one. The ids in use are read after the lock, so
    they include what the transaction that held it committed; the (port, position) unique
    constraint on ONTs is the last word.
    """
    for _attempt in range(5):
        port = _first_pon_port(
            customer, locks=("FOR UPDATE OF port SKIP LOCKED", "FOR UPDATE OF port")
        )
        if port is None:
            break
        used = set(
            Resource.objects.filter(parent=port, resource_kind=ResourceKind.ONT).values_list(
                "position", flat=True
            )
        )
        free = [n for n in range(1, ONTS_PER_PON_PORT + 1) if str(n) not in used]
        if free:
            return port, free[0]
    raise FibreNotFeasible("No OLT has a free PON port for this line.", field="bandwidth")


# The BNG behind an OLT (the router the OLT's first uplink reaches), its port facing the OLT,
# and its VLAN pools and IP prefixes, each row with its `role`. The router's kind is read by a
# subquery per link, not a join: as a join, its generic plan (prepared within an activation)
# merge-joined the OLT's links with every resource up to the router's id.
BNG_SQL = """
    WITH uplink AS (
        SELECT link.z_end_id, link.z_device_id FROM {link} link
        WHERE link.a_device_id = %(olt)s
          AND (SELECT resource_kind FROM {resource} WHERE id = link.z_device_id) = %(router)s
        ORDER BY link.resource_ptr_id LIMIT 1
    )
    SELECT resource.*, 'port' AS role FROM {resource} resource
    JOIN uplink ON resource.id = uplink.z_end_id
    UNION ALL
    SELECT resource.*, 'bng' AS role FROM {resource} resource
    JOIN uplink ON resource.id = uplink.z_device_id
    UNION ALL
    SELECT resource.*, resource.resource_kind AS role FROM {resource} resource
    JOIN uplink ON resource.parent_id = uplink.z_device_id
    WHERE resource.resource_kind IN (%(vlans)s, %(prefix)s)
"""


def _bng_for(olt_id: int, olt_name: str) -> tuple[Resource, Resource, Resource, Resource]:
    """The BNG behind the OLT (the router its uplink reaches), the BNG's port facing the OLT,
    its VLAN pool and its IP prefix (of several, the first made)."""
    statement = BNG_SQL.format(link=Link._meta.db_table, resource=Resource._meta.db_table)
    parameters = {
        "olt": olt_id,
        "router": ResourceKind.ROUTER,
        "vlans": ResourceKind.VLAN_POOL,
        "prefix": ResourceKind.IP_PREFIX,
    }
    found: dict[str, Resource] = {}
    for resource in Resource.objects.raw(statement, parameters):
        if resource.role not in found or resource.pk < found[resource.role].pk:
            found[resource.role] = resource
    if "bng" not in found:
        raise FibreNotFeasible(f"{olt_name} has no uplink to a BNG.", field="bandwidth")
    bng = found["bng"]
    vlans, addresses = found.get(ResourceKind.VLAN_POOL), found.get(ResourceKind.IP_PREFIX)
    if vlans is None or addresses is None:
        raise FibreNotFeasible(
            f"{bng.name}, the BNG of {olt_name}, has no VLAN pool or no IP prefix.",
            field="bandwidth",
        )
    return bng, found["port"], vlans, addresses


def _ont_register(*, serial: str, port: Resource, ont_id: int, service: Service) -> Resource:
    """The ONT `serial` on `port` as ONT id `ont_id`: the one the inventory knows when it is
    free (a customer's box ordered again), else a new one."""
    serial = serial.strip().upper() or f"{OPERATOR_VENDOR_ID}{service.pk:08X}"
    if not ONT_SERIAL_PATTERN.match(serial):
        raise DomainError(
            f"'{serial}' is not an ONT serial (four letters and eight hex digits).",
            field="ontSerial",
        )
    fields = {
        "parent": port,
        "position": str(ont_id),
        "site_id": port.site_id,
        "resource_status": ResourceStatus.RESERVED,
        "usage_state": UsageState.BUSY,
        "characteristics": {"ontId": ont_id},
        "last_update": clock.now(),
    }
    ont = Resource.objects.select_for_update().filter(name=f"ONT-{serial}").first()
    try:
        with transaction.atomic():
            if ont is None:
                return Resource.objects.create(
                    name=f"ONT-{serial}",
                    resource_kind=ResourceKind.ONT,
                    category=ResourceCategory.PHYSICAL,
                    value=serial,
                    serial_number=serial,
                    **fields,
                )
            if ont.resource_kind != ResourceKind.ONT or ont.parent_id is not None:
                raise DomainError(f"ONT {serial} already serves another line.", field="ontSerial")
            Resource.objects.filter(pk=ont.pk).update(**fields)
    except IntegrityError:
        # Registered by a concurrent order meanwhile.
        raise DomainError(f"ONT {serial} already serves another line.", field="ontSerial") from None
    ont.refresh_from_db()
    return ont


@atomic_in_caller()
def ftth_reserve(
    *,
    service: Service,
    bandwidth: int,
    customer: models.Model | None = None,
    ont_serial: str = "",
    access_holder: Service | None = None,
    vlan_holder: Service | None = None,
    ip_holder: Service | None = None,
    bng_holder: Service | None = None,
    by: str = "",
    rebuild_paths: bool = True,
) -> list[ServiceResource]:
    """Reserve a fibre line: a PON port of an OLT serving the customer and an ONT registered on
    it (ONT id unique on the port; the serial from the order or made up), the OLT's share of
    `bandwidth`, then the BNG behind the OLT (its share of `bandwidth` and its interface toward
    the OLT), a VLAN and an address from the BNG's pools. Each is bound to the resource-facing
    service that holds it (`access_holder` the OLT, port and ONT, `bng_holder` the BNG and its
    interface, `vlan_holder` and `ip_holder` theirs; the service itself when not given).
    Nothing is held if any of it cannot be had (one transaction).

    Calling it again for a service that already holds its reservation returns that reservation.
    `rebuild_paths=False`: the caller rebuilds the paths once it has bound all it reserves.
    """
    access_holder = access_holder or service
    bng_holder = bng_holder or vlan_holder or service
    vlan_holder, ip_holder = vlan_holder or service, ip_holder or service
    holders = {service, access_holder, bng_holder, vlan_holder, ip_holder}
    # One statement locks the service and its holders (id order) and reads their states: two
    # deliveries of one reservation serialise here, and the second finds it held.
    states = dict(
        Service.objects.select_for_update()
        .filter(pk__in=[holder.pk for holder in holders])
        .order_by("pk")
        .values_list("pk", "state")
    )
    if holds_bindings(service):
        return held_bindings(service)
    port, ont_id = _lock_pon_port(customer)
    bng, bng_port, vlans, addresses = _bng_for(port.olt_id, port.olt_name)
    ont = _ont_register(serial=ont_serial, port=port, ont_id=ont_id, service=service)
    reserved = BindingState.RESERVED
    ServiceResource.objects.bulk_create(
        [
            ServiceResource(
                service=access_holder,
                resource_id=port.olt_id,
                capacity_mbps=bandwidth,
                state=reserved,
            ),
            # The port is shared by the ONTs on its splitter (GPON is oversubscribed by
            # design): it is held for the ONT, its line rate is not divided among them.
            ServiceResource(service=access_holder, resource=port, state=reserved),
            ServiceResource(service=access_holder, resource=ont, is_exclusive=True, state=reserved),
            ServiceResource(
                service=bng_holder, resource=bng, capacity_mbps=bandwidth, state=reserved
            ),
            # The BNG's interface toward the OLT, where the line's VLAN is terminated.
            ServiceResource(service=bng_holder, resource=bng_port, state=reserved),
        ]
    )
    # The paths are rebuilt once, below, when everything is bound. A holder in the service's
    # tree is locked and holds nothing (`held_bindings` found nothing in the tree).
    for kind, holder, pool in (
        (ResourceKind.VLAN, vlan_holder, vlans),
        (ResourceKind.IP_ADDRESS, ip_holder, addresses),
    ):
        logical_allocate(
            kind=kind,
            service=holder,
            pool=pool,
            by=by,
            rebuild_paths=False,
            holds_none=holder.pk == service.pk or holder.parent_id == service.pk,
        )
    services_move(
        [holder for holder in holders if states[holder.pk] != ServiceState.RESERVED],
        ServiceState.RESERVED,
        by=by,
    )
    if rebuild_paths:
        paths.service_paths_rebuild([service.pk])
    return held_bindings(service)
