"""The demo operator's outside plant and logical pools, built on the demo's equipment.

Per site: a card with ports in the gNB, the OLT and the site router; the gNB and OLT uplinked by
fibre to the site router in the site's access cable; the site router uplinked to its region's
core router over a trunk fibre. Sites are grouped in rings of four whose trunk fibres share one
cable in one duct, so cutting a ring cable takes four sites' customers down. Each region's core
site also has a switch and a UPF (core function). Pools: an IP prefix and a VLAN pool per
region, an MSISDN range, a SIM stock and a slice pool; more number ranges and SIM stocks as the
demo's mobile services need them (`ensure_pool_capacity`).

Built through the CSV importer (`inventory.network_import`), so it is bulk, validated and
additive: rows whose name exists are skipped, and running it again changes nothing.
"""

import csv
import io
import ipaddress

from django.db.models import Q

from catalog.choices import ResourceKind
from inventory import selectors, services
from inventory.choices import (
    POOL_KINDS,
    BindingState,
    ResourceCategory,
    ResourceStatus,
    ServiceState,
    UsageState,
)
from inventory.models import Resource, Service, ServiceResource, Site
from inventory.network_import import network_import
from telco import clock
from telco.demo import rows_insert

RING_SIZE = 4
# Numbers and SIMs of the demo pools that existing services leave free for new orders.
POOL_HEADROOM = 1000
# A larger demo adds MSISDN ranges and SIM stocks of this size until every mobile service has a
# number and a SIM and the headroom is free: (name, first MSISDN, first ICCID, first IMSI) of
# block n (from 1) follow the first range and stock `ensure_pools` makes.
POOL_BLOCK = 10_000


def pool_block(kind: str, number: int) -> tuple[str, dict]:
    """The name and the service arguments of extra demo pool `number` (from 1) of `kind`."""
    offset = (number - 1) * POOL_BLOCK
    if kind == ResourceKind.MSISDN:
        name = f"MSISDN-DEMO-{number:03d}"
        return name, {"name": name, "first": str(447401000000 + offset), "count": POOL_BLOCK}
    name = f"SIM-STOCK-DEMO-{number:03d}"
    return name, {
        "name": name,
        "first_iccid": str(8944100000000002001 + offset),
        "first_imsi": str(234159000002001 + offset),
        "count": POOL_BLOCK,
    }


CARD_MODELS = {
    ResourceKind.GNB: "BB 6648",
    ResourceKind.OLT: "FGLT-B",
    ResourceKind.ROUTER: "A9K-24X10GE",
}
# Each OLT's GPON line card (slot 1): its PON ports, at the GPON downstream rate.
PON_CARD_SLOT, PON_CARD_MODEL, PON_PORTS, PON_RATE_MBPS = "1", "FGLT-D", 8, 2_500
# Each site router is the BNG of its site's fibre lines: VLAN ids and a /24 of subscriber
# addresses (the shared address space, RFC 6598), the k-th router (in id order) taking
# 100.64.0.0/10's k-th /24, so a router added later never shifts the others' prefixes.
BNG_VLANS = (1000, 1255)
BNG_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
BNG_BATCH = 50
# Ports per equipment kind: (position, Mbit/s); position 1 is the uplink.
PORTS = {
    ResourceKind.GNB: (("1", 25_000),),
    ResourceKind.OLT: (("1", 10_000), ("2", 10_000), ("3", 10_000)),
    ResourceKind.ROUTER: (("1", 100_000), ("2", 25_000), ("3", 10_000)),
}


def csv_text(header: list[str], rows: list[list]) -> str:
    """The header and rows as CSV text, as the network import reads it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def ensure_plant() -> dict[str, int]:
    """Cards, ports, ducts, cables and links of the demo network; {kind: rows created}."""
    cores = {
        core.site.region_id: core
        for core in Resource.objects.filter(
            name__startswith="CORE-", parent__isnull=True
        ).select_related("site")
    }
    sites = list(Site.objects.select_related("region").order_by("region__name", "pk"))
    by_site: dict[int, dict[str, str]] = {}
    for resource in (
        Resource.objects.filter(
            resource_kind__in=list(PORTS), parent__isnull=True, site__isnull=False
        )
        .exclude(name__startswith="CORE-")
        .order_by("pk")
    ):
        # The site's own elements (the first of each kind), not others installed there later.
        by_site.setdefault(resource.site_id, {}).setdefault(resource.resource_kind, resource.name)

    cards, ports, ducts, cables, links = [], [], [], [], []
    extras = []
    for core in sorted(cores.values(), key=lambda core: core.name):
        cards.append([core.name, "0", "LC1201"])
        tag = core.name.removeprefix("CORE-")
        extras.append([f"SW-{tag}", ResourceKind.SWITCH, core.site.name])
        extras.append([f"UPF-{tag}", ResourceKind.CORE_FUNCTION, core.site.name])
    created = {}
    if extras:
        created["equipment"] = network_import(
            kind="equipment",
            text=csv_text(
                ["name", "role", "site", "vendor", "model", "capacity_mbps"],
                [
                    [name, role, site, "Nokia", "7250 IXR" if role == "switch" else "UPF", 400_000]
                    for name, role, site in extras
                ],
            ),
        ).created
    number_in_region: dict[int, int] = {}
    for site in sites:
        equipment = by_site.get(site.pk, {})
        router = equipment.get(ResourceKind.ROUTER)
        core = cores.get(site.region_id)
        if router is None or core is None:
            continue
        for kind, name in sorted(equipment.items()):
            cards.append([name, "0", CARD_MODELS[kind]])
            ports.extend([f"{name}/0", position, rate] for position, rate in PORTS[kind])
            if kind == ResourceKind.OLT:
                cards.append([name, PON_CARD_SLOT, PON_CARD_MODEL])
                pon_card = f"{name}/{PON_CARD_SLOT}"
                ports.extend([pon_card, str(n), PON_RATE_MBPS] for n in range(1, PON_PORTS + 1))
        number = number_in_region[site.region_id] = number_in_region.get(site.region_id, 0) + 1
        ring = (number - 1) // RING_SIZE + 1
        tag = core.name.removeprefix("CORE-")
        duct, trunk = f"DUCT-{tag}-RING-{ring}", f"CABLE-{tag}-RING-{ring}"
        if number % RING_SIZE == 1:
            ducts.append([duct])
            cables.append([trunk, "fibre", duct])
        access = f"CABLE-{site.name}-ACCESS"
        cables.append([access, "fibre", ""])
        ports.append([f"{core.name}/0", str(number), 100_000])
        links.append(
            [f"{router}-UPLINK", f"{router}/0/1", f"{core.name}/0/{number}", 100_000, trunk]
        )
        for kind, router_port in ((ResourceKind.GNB, "2"), (ResourceKind.OLT, "3")):
            if kind in equipment:
                name = equipment[kind]
                links.append(
                    [f"{name}-UPLINK", f"{name}/0/1", f"{router}/0/{router_port}", 10_000, access]
                )
    for kind, header, rows in (
        ("cards", ["equipment", "slot", "model"], cards),
        ("ports", ["parent", "position", "capacity_mbps"], ports),
        ("ducts", ["name"], ducts),
        ("cables", ["name", "medium", "duct"], cables),
        ("links", ["name", "a_end", "z_end", "capacity_mbps", "cable"], links),
    ):
        if rows:
            created[kind] = network_import(kind=kind, text=csv_text(header, rows)).created
    # The line card's ports are where ONTs register (one statement, whatever the site count).
    Resource.objects.filter(
        resource_kind=ResourceKind.PORT,
        parent__resource_kind=ResourceKind.CARD,
        parent__position=PON_CARD_SLOT,
        parent__parent__resource_kind=ResourceKind.OLT,
    ).filter(
        # Not yet marked (a JSON key test SQLite, the embedded demo, can run too).
        Q(characteristics__portType__isnull=True)
        | ~Q(characteristics__portType=services.PON_PORT_TYPE)
    ).update(characteristics={"portType": services.PON_PORT_TYPE})
    return created


def ensure_pools() -> int:
    """Address, VLAN, number, SIM and slice pools; how many pools were created."""
    created = 0
    existing = set(
        Resource.objects.filter(resource_kind__in=POOL_KINDS.values()).values_list(
            "name", flat=True
        )
    )
    cores = list(
        Resource.objects.filter(name__startswith="CORE-", parent__isnull=True).order_by("name")
    )
    for index, core in enumerate(cores, start=1):
        tag = core.name.removeprefix("CORE-")
        if f"IP-{tag}" not in existing:
            services.ip_prefix_create(name=f"IP-{tag}", prefix=f"10.{index}.0.0/22", site=core.site)
            created += 1
        if f"VLANS-{tag}" not in existing:
            services.vlan_pool_create(name=f"VLANS-{tag}", first_vid=100, last_vid=599, device=core)
            created += 1
    created += ensure_bng_pools(existing)
    for name, create in (
        (
            "MSISDN-4474009",
            lambda: services.msisdn_range_create(
                name="MSISDN-4474009", first="447400900000", count=5000
            ),
        ),
        (
            "SIM-STOCK-1",
            lambda: services.sim_stock_create(
                name="SIM-STOCK-1",
                first_iccid="8944100000000000001",
                first_imsi="234159000000001",
                count=2000,
            ),
        ),
        (
            "SLICES-EMBB",
            lambda: services.slice_pool_create(
                name="SLICES-EMBB", sst=1, first_sd=0xF00000, count=256
            ),
        ),
    ):
        if name not in existing:
            create()
            created += 1
    return created


def site_routers() -> list[Resource]:
    """Each site's own router (the first installed there), in id order: the sites' BNGs."""
    first = {}
    for router in (
        Resource.objects.filter(
            resource_kind=ResourceKind.ROUTER, parent__isnull=True, site__isnull=False
        )
        .exclude(name__startswith="CORE-")
        .order_by("pk")
    ):
        first.setdefault(router.site_id, router)
    return sorted(first.values(), key=lambda router: router.pk)


def ensure_bng_pools(existing: set[str]) -> int:
    """A VLAN pool and a subscriber prefix on each site router (`BNG_VLANS`,
    `BNG_ADDRESS_SPACE`) missing them, pools and members bulk-inserted; how many pools
    were created. The names and values are those `vlan_pool_create` and `ip_prefix_create`
    give."""
    routers = list(zip(site_routers(), BNG_ADDRESS_SPACE.subnets(new_prefix=24), strict=False))
    created = 0
    # In batches of routers: at 500 sites the members are a quarter of a million rows.
    for start in range(0, len(routers), BNG_BATCH):
        created += _bng_pools_insert(routers[start : start + BNG_BATCH], existing)
    return created


def _bng_pools_insert(routers: list[tuple], existing: set[str]) -> int:
    pools, members = [], []
    first_vid, last_vid = BNG_VLANS
    for router, prefix in routers:
        for name, pool_kind, value, member_kind, values in (
            (
                f"VLANS-{router.name}",
                ResourceKind.VLAN_POOL,
                f"{first_vid}-{last_vid}",
                ResourceKind.VLAN,
                [
                    (f"VLANS-{router.name}/vlan-{vid}", str(vid))
                    for vid in range(first_vid, last_vid + 1)
                ],
            ),
            (
                f"IP-{router.name}",
                ResourceKind.IP_PREFIX,
                str(prefix),
                ResourceKind.IP_ADDRESS,
                [(f"ip-{host}", str(host)) for host in prefix.hosts()],
            ),
        ):
            if name in existing:
                continue
            pool = Resource(
                name=name,
                resource_kind=pool_kind,
                category=ResourceCategory.LOGICAL,
                parent=router,
                site_id=router.site_id,
                value=value,
                characteristics={"size": len(values)},
            )
            pools.append(pool)
            members.extend(
                Resource(
                    name=member_name,
                    resource_kind=member_kind,
                    category=ResourceCategory.LOGICAL,
                    parent=pool,
                    site_id=router.site_id,
                    value=member_value,
                )
                for member_name, member_value in values
            )
    rows_insert(Resource, pools)
    for member in members:
        member.parent_id = member.parent.pk
    rows_insert(Resource, members)
    return len(pools)


def ensure_mobile_numbers() -> int:
    """An MSISDN and a SIM from the pools for each live 5G service that holds no number yet.

    Set-based and deterministic: services in id order take the free members in id order, and
    the bindings are bulk-inserted (active since the service started). Services ordered
    through the workflow already hold theirs on their RAN access RFS and are left alone.
    The pools grow by `POOL_BLOCK` numbers and SIMs at a time (`ensure_pool_capacity`) so that
    every such service gets both and `POOL_HEADROOM` of each stay free for new orders. Returns
    how many services got a number (and a SIM).
    """
    numbered = selectors.pool_bindings_held(ResourceKind.MSISDN)
    mobile = list(
        Service.objects.filter(
            parent__isnull=True,
            product__isnull=False,
            service_specification__resource_specifications__resource_kind=ResourceKind.GNB,
        )
        .exclude(state=ServiceState.TERMINATED)
        .exclude(pk__in=numbered.values("service_id"))
        .exclude(pk__in=numbered.filter(service__parent__isnull=False).values("service__parent_id"))
        .distinct()
        .order_by("pk")
        .values_list("pk", "start_date")
    )
    if not mobile:
        return 0
    ensure_pool_capacity(len(mobile) + POOL_HEADROOM)
    free = {
        kind: list(
            selectors.pool_free_members(kind).values_list("pk", flat=True)[
                : len(mobile) + POOL_HEADROOM
            ]
        )
        for kind in (ResourceKind.MSISDN, ResourceKind.SIM)
    }
    # Both a number and a SIM each, and some of each pool left for the orders of the demo.
    count = max(0, min(len(mobile), *(len(ids) - POOL_HEADROOM for ids in free.values())))
    now = clock.now()
    bindings = [
        ServiceResource(
            service_id=service_id,
            resource_id=resource_id,
            is_exclusive=True,
            state=BindingState.ACTIVE,
            created_at=started or now,
        )
        for ids in free.values()
        for (service_id, started), resource_id in zip(mobile[:count], ids[:count], strict=True)
    ]
    rows_insert(ServiceResource, bindings)
    # What an allocation marks on the member, for those just bound (one statement).
    Resource.objects.filter(pk__in=[binding.resource_id for binding in bindings]).update(
        resource_status=ResourceStatus.RESERVED, usage_state=UsageState.BUSY, last_update=now
    )
    return count


def ensure_pool_capacity(needed: int) -> int:
    """Add demo MSISDN ranges and SIM stocks (`pool_block`) until at least `needed` numbers
    and `needed` SIMs are free; the pools added. Deterministic: blocks are numbered on from
    the ones that exist."""
    added = 0
    for kind, create in (
        (ResourceKind.MSISDN, services.msisdn_range_create),
        (ResourceKind.SIM, services.sim_stock_create),
    ):
        free = selectors.pool_free_members(kind).count()
        number = 1
        while free < needed:
            name, arguments = pool_block(kind, number)
            if not Resource.objects.filter(name=name).exists():
                create(**arguments)
                free += POOL_BLOCK
                added += 1
            number += 1
    return added


def ensure_lab_configuration(control) -> int:
    """Load every demo line's configuration onto its elements in the lab network (`control`, a
    `LabControl`), as the network carried them before the product was installed: one request
    per element, the entries the element's driver would PUT for what the inventory expects, so a
    reconciliation of the untouched demo finds nothing missing. Returns how many entries."""
    from inventory.network import driver_for

    loaded = 0
    for element in services.elements_holding_services():
        driver = driver_for(element.resource_kind)
        entries = {
            ref: driver.to_model(ref, placed.config)
            for ref, placed in services.element_expected_configs(element).items()
            if placed.config is not None
        }
        if entries:
            loaded += control.load(element.name, driver.module, entries)
    return loaded
