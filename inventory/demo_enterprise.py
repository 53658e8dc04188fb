"""The demo operator's enterprise access: on each site's edge router (PE) an access card whose
ports customers' VPN sites and Ethernet lines are connected to, and the route target pool VPNs
take their route target from (65000:1000-65000:4999).

Built through the CSV importer and the pool service, like the rest of the demo network:
additive, so running it again changes nothing.
"""

from inventory import services
from inventory.demo_network import csv_text, site_routers
from inventory.models import Resource
from inventory.network_import import network_import

ACCESS_CARD_SLOT, ACCESS_CARD_MODEL = "2", "A9K-20X1GE"
# Customer-facing ports of each PE's access card: (positions, Mbit/s).
ACCESS_PORTS = ((range(1, 17), 1_000), (range(17, 21), 10_000))
ROUTE_TARGET_POOL = "RT-VPN-65000"
ROUTE_TARGET_ASN, ROUTE_TARGETS = 65000, (1000, 4999)


def ensure_enterprise_access() -> dict[str, int]:
    """Access cards and ports on every PE, and the route target pool; {kind: rows created}."""
    cards, ports = [], []
    for router in site_routers():  # each site's own router is its PE
        cards.append([router.name, ACCESS_CARD_SLOT, ACCESS_CARD_MODEL])
        card = f"{router.name}/{ACCESS_CARD_SLOT}"
        for positions, rate in ACCESS_PORTS:
            ports.extend([card, str(position), rate] for position in positions)
    created = {}
    for kind, header, rows in (
        ("cards", ["equipment", "slot", "model"], cards),
        ("ports", ["parent", "position", "capacity_mbps"], ports),
    ):
        if rows:
            created[kind] = network_import(kind=kind, text=csv_text(header, rows)).created
    if not Resource.objects.filter(name=ROUTE_TARGET_POOL).exists():
        first, last = ROUTE_TARGETS
        services.route_target_pool_create(
            name=ROUTE_TARGET_POOL, asn=ROUTE_TARGET_ASN, first=first, last=last
        )
        created["routeTargetPools"] = 1
    return created
