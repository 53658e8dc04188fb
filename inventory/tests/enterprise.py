"""The network an enterprise order needs: customer sites whose edge routers (PE) have access
ports and an uplink to a regional core, a VLAN pool and an address pool per region, and a route
target pool. Built through the inventory services, as an operator would."""

from dataclasses import dataclass, field

from catalog.choices import ResourceKind
from inventory import services
from inventory.models import Link, Region, Resource, Site


@dataclass
class EnterpriseNetwork:
    region: Region
    core: Resource
    sites: list[Site] = field(default_factory=list)
    edge_routers: dict[int, Resource] = field(default_factory=dict)  # by site id
    uplinks: dict[int, Link] = field(default_factory=dict)  # by site id
    access_ports: dict[int, list[Resource]] = field(default_factory=dict)  # by site id


def enterprise_network(
    *,
    sites: int = 2,
    access_ports: int = 2,
    port_mbps: int = 1000,
    uplink_mbps: int = 10_000,
    tag: str = "E",
    route_targets: int = 50,
    prefix: str = "10.200.0.0/24",
) -> EnterpriseNetwork:
    """`sites` sites, each with a PE (`access_ports` free ports of `port_mbps`, an uplink of
    `uplink_mbps` to the core), one region's pools, and a route target pool."""
    region = Region.objects.create(name=f"Region {tag}")
    core_site = Site.objects.create(region=region, name=f"{tag}-CORE")
    core = services.equipment_create(
        name=f"CORE-{tag}", resource_kind=ResourceKind.ROUTER, site=core_site, capacity_mbps=10**6
    )
    core_card = services.card_create(equipment=core, slot="0")
    network = EnterpriseNetwork(region=region, core=core)
    for number in range(1, sites + 1):
        site = Site.objects.create(region=region, name=f"{tag}-SITE-{number}")
        router = services.equipment_create(
            name=f"PE-{tag}-{number}",
            resource_kind=ResourceKind.ROUTER,
            site=site,
            capacity_mbps=400_000,
        )
        card = services.card_create(equipment=router, slot="0")
        uplink_port = services.port_create(parent=card, position="1", capacity_mbps=100_000)
        core_port = services.port_create(
            parent=core_card, position=str(number), capacity_mbps=100_000
        )
        network.uplinks[site.pk] = services.link_create(
            name=f"{router.name}-UPLINK",
            a_end=uplink_port,
            z_end=core_port,
            capacity_mbps=uplink_mbps,
        )
        network.access_ports[site.pk] = [
            services.port_create(parent=card, position=str(position), capacity_mbps=port_mbps)
            for position in range(2, access_ports + 2)
        ]
        network.sites.append(site)
        network.edge_routers[site.pk] = router
    services.vlan_pool_create(name=f"VLANS-{tag}", first_vid=100, last_vid=199, device=core)
    services.ip_prefix_create(name=f"IP-{tag}", prefix=prefix, site=core_site)
    if route_targets:
        services.route_target_pool_create(
            name=f"RT-{tag}", asn=65000, first=1000, last=1000 + route_targets - 1
        )
    return network
