"""The demo catalog's enterprise connectivity: "Enterprise VPN" (an IP VPN joining a company's
sites) and the site access "Enterprise Ethernet" is delivered on, both realised on the edge
routers (PE) of the sites the order names.

An IP VPN Service (CFS) is realised per site by a "VPN site access" (RFS): a PE port, a VLAN
and an address on it, the site's bandwidth, and the VPN's VRF on the PE with a route target
from a pool. Enterprise Ethernet's "Ethernet access" is the same access without a VRF.

How an order names the sites: TMF622 `product.place` (role "vpnSite", the ids of the sites),
which the order capture records as the product's `sites` characteristic ("12,15"); the
`bandwidth` characteristic is each site's access rate. Priced monthly per VPN plus per site.
"""

from datetime import timedelta
from decimal import Decimal

from catalog import services
from catalog.choices import LifecycleStatus, ServiceCategory
from catalog.models import (
    Category,
    CharacteristicSpecification,
    ProductOffering,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)
from telco import clock
from telco.demo import SEED_USER

VPN_OFFERING = "Enterprise VPN"
VPN_SERVICE, VPN_SITE_SERVICE = "IP VPN Service", "VPN site access"
ETHERNET_SERVICE, ETHERNET_SITE_SERVICE = "Ethernet Line Service", "Ethernet access"
VPN_BANDWIDTHS = ("100Mbps", "10Mbps", "50Mbps", "500Mbps", "1Gbps")
# What realising a site binds: (resource specification, its kind).
SITE_RESOURCES = (
    ("Edge Router", "router"),
    ("PE access port", "port"),
    ("VLAN", "vlan"),
    ("IP address", "ipAddress"),
)
ROUTE_TARGET = ("VPN route target", "routeTarget")
SITES_CHARACTERISTIC = "sites"


def _resource_specifications(pairs) -> list[ResourceSpecification]:
    return [
        ResourceSpecification.objects.get_or_create(name=name, defaults={"resource_kind": kind})[0]
        for name, kind in pairs
    ]


def _sites_characteristic(product_specification: ProductSpecification, description: str):
    CharacteristicSpecification.objects.get_or_create(
        product_specification=product_specification,
        name=SITES_CHARACTERISTIC,
        defaults={"description": description},
    )


def ensure_enterprise_catalog() -> ProductOffering:
    """The Enterprise VPN offering (made when missing) and the per-site decomposition of
    Enterprise Ethernet, on top of the demo catalog (`catalog.demo.ensure_catalog`); returns
    the VPN offering. Not in CATALOG: generated customers do not hold it."""
    site_resources = _resource_specifications(SITE_RESOURCES)
    vpn_site, _ = ServiceSpecification.objects.get_or_create(
        name=VPN_SITE_SERVICE, defaults={"category": ServiceCategory.RESOURCE_FACING}
    )
    vpn_site.resource_specifications.add(*site_resources, *_resource_specifications([ROUTE_TARGET]))
    vpn, _ = ServiceSpecification.objects.get_or_create(name=VPN_SERVICE)
    vpn.supporting_specifications.add(vpn_site)
    product_specification, _ = ProductSpecification.objects.get_or_create(
        name="IP VPN", defaults={"brand": "Telco"}
    )
    product_specification.service_specifications.add(vpn)
    CharacteristicSpecification.objects.get_or_create(
        product_specification=product_specification,
        name="bandwidth",
        defaults={
            "allowed_values": list(VPN_BANDWIDTHS),
            "default_value": VPN_BANDWIDTHS[0],
            "is_required": True,
            "description": "Access bandwidth of each site",
        },
    )
    _sites_characteristic(
        product_specification, "The VPN's sites: ids from product.place (role vpnSite)"
    )
    # Enterprise Ethernet: one site's access on its PE (port, VLAN, bandwidth; no VRF).
    ethernet_site = ServiceSpecification.objects.filter(name=ETHERNET_SITE_SERVICE).first()
    if ethernet_site is not None:
        ethernet_site.resource_specifications.add(*site_resources)
    ethernet = ProductOffering.objects.filter(name="Enterprise Ethernet").first()
    if ethernet is not None:
        _sites_characteristic(
            ethernet.product_specification, "The line's site: the id from product.place"
        )
    offering = ProductOffering.objects.filter(name=VPN_OFFERING).first()
    if offering is None:
        offering = _launch(product_specification)
    business, _ = Category.objects.get_or_create(
        name="Business", defaults={"description": "Connectivity for companies"}
    )
    offering.categories.add(business)
    return offering


def _launch(product_specification: ProductSpecification) -> ProductOffering:
    """Made as a product manager would: created, priced, launched through the services."""
    offering = services.offering_create(
        name=VPN_OFFERING,
        description="An IP VPN joining the company's sites, each at its own access bandwidth",
        product_specification=product_specification,
        market_segments=["enterprise"],
        valid_from=clock.now() - timedelta(days=365),
    )
    for price in [
        {"name": "Activation fee", "price_type": "oneTime", "amount": Decimal("900.00")},
        {
            "name": "Monthly fee",
            "price_type": "recurring",
            "recurring_period": "month",
            "amount": Decimal("400.00"),
        },
        {
            "name": "Monthly fee per site",
            "price_type": "recurring",
            "recurring_period": "month",
            "amount": Decimal("250.00"),
            "unit_of_measure": "site",
        },
    ]:
        services.price_create(
            product_offering=offering,
            valid_from=offering.valid_from,
            lifecycle_status=LifecycleStatus.LAUNCHED,
            by=SEED_USER,
            **price,
        )
    return services.offering_update(
        offering=offering, changes={"lifecycle_status": LifecycleStatus.LAUNCHED}, by=SEED_USER
    )
