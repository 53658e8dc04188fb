"""Fibre to the home: a line's access (a PON port on an OLT serving the customer's region and
an ONT registered on it), its VLAN and its address from the pools of the BNG the OLT is
uplinked to, each bound to the resource-facing service that holds it."""

import re

from django.db import IntegrityError, models, transaction
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

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
from inventory.services.capacity import held_bindings
from inventory.services.pools import logical_allocate
from inventory.services.service_lifecycle import services_move
from telco import clock
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


def _onts_on_port() -> Coalesce:
    count = (
        Resource.objects.filter(parent=OuterRef("pk"), resource_kind=ResourceKind.ONT)
        .values("parent")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0))


def pon_port_candidates(*, customer: models.Model | None = None) -> models.QuerySet[Resource]:
    """PON ports in service with a free ONT id, on OLTs in service, the customer's region first
    (a region named like the city of their address, as for gNBs), then in id order."""
    is_local = selectors.in_customers_region(customer)
    in_service = {
        "administrative_state": AdministrativeState.UNLOCKED,
        "operational_state": OperationalState.ENABLE,
    }
    # A port sits on an OLT or on one of its cards. As id subqueries (not an OR over two
    # joins, which makes PostgreSQL hash the whole resource table twice per reservation).
    olts = Resource.objects.filter(resource_kind=ResourceKind.OLT, **in_service).values("pk")
    olts_and_cards = Resource.objects.filter(Q(pk__in=olts) | Q(parent__in=olts)).values("pk")
    return (
        Resource.objects.filter(
            parent__in=olts_and_cards,
            resource_kind=ResourceKind.PORT,
            characteristics__portType=PON_PORT_TYPE,
            **in_service,
        )
        .annotate(onts=_onts_on_port(), is_local=is_local)
        .filter(onts__lt=ONTS_PER_PON_PORT)
        .order_by("-is_local", "pk")
    )


def ftth_is_feasible(*, customer: models.Model | None = None) -> bool:
    """Is there a PON port with a free ONT id for the customer? (order validation)"""
    return pon_port_candidates(customer=customer).exists()


def _olt_of(port: Resource) -> Resource:
    parent = port.parent
    return parent if parent.resource_kind == ResourceKind.OLT else parent.parent


def _lock_pon_port(customer: models.Model | None) -> tuple[Resource, int]:
    """A PON port, locked, and the lowest ONT id free on it.

    Concurrent reservations skip each other's ports (SKIP LOCKED); when every candidate is
    being used by another one, this waits for one. The ids in use are read after the lock, so
    they include what the transaction that held it committed; the (port, position) unique
    constraint on ONTs is the last word.
    """
    candidates = pon_port_candidates(customer=customer).select_related("parent__parent")
    for _attempt in range(5):
        port = (
            candidates.select_for_update(skip_locked=True, of=("self",)).first()
            or candidates.select_for_update(of=("self",)).first()
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


def _bng_for(olt: Resource) -> tuple[Resource, Resource, Resource]:
    """The BNG behind the OLT (the router its uplink reaches): the BNG's port facing the OLT,
    its VLAN pool and its IP prefix."""
    uplink = (
        Link.objects.filter(a_device=olt, z_device__resource_kind=ResourceKind.ROUTER)
        .select_related("z_end", "z_device")
        .order_by("pk")
        .first()
    )
    if uplink is None:
        raise FibreNotFeasible(f"{olt.name} has no uplink to a BNG.", field="bandwidth")
    bng = uplink.z_device
    pools = {
        pool.resource_kind: pool
        for pool in Resource.objects.filter(
            parent=bng, resource_kind__in=[ResourceKind.VLAN_POOL, ResourceKind.IP_PREFIX]
        ).order_by("-pk")
    }
    vlans, addresses = pools.get(ResourceKind.VLAN_POOL), pools.get(ResourceKind.IP_PREFIX)
    if vlans is None or addresses is None:
        raise FibreNotFeasible(
            f"{bng.name}, the BNG of {olt.name}, has no VLAN pool or no IP prefix.",
            field="bandwidth",
        )
    return uplink.z_end, vlans, addresses


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
    held = held_bindings(service)
    if held:
        return held
    port, ont_id = _lock_pon_port(customer)
    olt = _olt_of(port)
    bng_port, vlans, addresses = _bng_for(olt)
    ont = _ont_register(serial=ont_serial, port=port, ont_id=ont_id, service=service)
    reserved = BindingState.RESERVED
    ServiceResource.objects.bulk_create(
        [
            ServiceResource(
                service=access_holder, resource=olt, capacity_mbps=bandwidth, state=reserved
            ),
            # The port is shared by the ONTs on its splitter (GPON is oversubscribed by
            # design): it is held for the ONT, its line rate is not divided among them.
            ServiceResource(service=access_holder, resource=port, state=reserved),
            ServiceResource(service=access_holder, resource=ont, is_exclusive=True, state=reserved),
            ServiceResource(
                service=bng_holder, resource=vlans.parent, capacity_mbps=bandwidth, state=reserved
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
