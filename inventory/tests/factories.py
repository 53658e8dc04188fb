"""Inventory factories: regions, sites, gNBs, routers, slices, and active products with their CFS.

Activation belongs to orders/inventory; tests of the apps that only read its result (billing,
assurance, the portal pages) build products and services with these factories, as a successful
activation leaves them.
"""

import factory
from django.utils import timezone

from catalog.choices import ResourceKind
from catalog.models import ServiceSpecification
from catalog.tests.factories import shared_five_g_offering
from crm.tests.factories import BillingAccountFactory
from inventory import services
from inventory.choices import ProductStatus, ResourceCategory, ServiceCategory, ServiceState
from inventory.models import ProductInstance, Region, Resource, Service, Site


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Region {n}")


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site

    region = factory.SubFactory(RegionFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class GnbFactory(factory.django.DjangoModelFactory):
    """A gNB cell site with 10 Gbit/s of capacity."""

    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"gnb-{n:03d}")
    resource_kind = ResourceKind.GNB
    category = ResourceCategory.PHYSICAL
    site = factory.SubFactory(SiteFactory)
    vendor = "Ericsson"
    capacity_mbps = 10000


class RouterFactory(GnbFactory):
    name = factory.Sequence(lambda n: f"router-{n:03d}")
    resource_kind = ResourceKind.ROUTER


class SliceFactory(factory.django.DjangoModelFactory):
    """A network slice on a gNB (by default a new one), at the gNB's site."""

    class Meta:
        model = Resource

    name = factory.Sequence(lambda n: f"slice-{n:03d}")
    resource_kind = ResourceKind.SLICE
    category = ResourceCategory.LOGICAL
    parent = factory.SubFactory(GnbFactory)
    site = factory.LazyAttribute(lambda o: o.parent.site)


class ProductInstanceFactory(factory.django.DjangoModelFactory):
    """An active product of the shared 5G Premium offering, on a new billing account."""

    class Meta:
        model = ProductInstance

    billing_account = factory.SubFactory(BillingAccountFactory)
    customer = factory.LazyAttribute(lambda o: o.billing_account.customer)
    product_offering = factory.LazyFunction(shared_five_g_offering)
    name = factory.LazyAttribute(lambda o: f"{o.product_offering.name} for {o.customer.name}")
    status = ProductStatus.ACTIVE
    start_date = factory.LazyFunction(timezone.now)


class CustomerFacingServiceFactory(factory.django.DjangoModelFactory):
    """The active "5G Slice Service" CFS of a product (by default a new active product)."""

    class Meta:
        model = Service

    product = factory.SubFactory(ProductInstanceFactory)
    name = factory.LazyAttribute(lambda o: f"5G slice of {o.product.name}")
    category = ServiceCategory.CUSTOMER_FACING
    service_specification = factory.LazyFunction(
        lambda: ServiceSpecification.objects.get_or_create(name="5G Slice Service")[0]
    )
    state = ServiceState.ACTIVE
    start_date = factory.LazyAttribute(lambda o: o.product.start_date)


def fibre_access(
    *, site: Site | None = None, pon_ports: int = 2, vlans: tuple[int, int] = (1000, 1031)
) -> dict:
    """An OLT with `pon_ports` PON ports on its line card, uplinked to a BNG (router) that has
    a VLAN pool (`vlans`) and a /27 of subscriber addresses, all at `site` (a new one by
    default), built through the inventory services. Returns the OLT, the BNG, the PON ports,
    the BNG's port facing the OLT and the two pools."""
    site = site or SiteFactory()
    tag = site.name.replace(" ", "-")
    olt = services.equipment_create(
        name=f"OLT-{tag}", resource_kind=ResourceKind.OLT, site=site, capacity_mbps=400_000
    )
    bng = services.equipment_create(
        name=f"BNG-{tag}", resource_kind=ResourceKind.ROUTER, site=site, capacity_mbps=400_000
    )
    uplink_card = services.card_create(equipment=olt, slot="0", model="FANT-F")
    uplink = services.port_create(parent=uplink_card, position="1", capacity_mbps=10_000)
    card = services.card_create(equipment=olt, slot="1", model="FGLT-D")
    ports = [
        services.port_create(
            parent=card,
            position=str(number),
            capacity_mbps=2_500,
            characteristics={"portType": services.PON_PORT_TYPE},
        )
        for number in range(1, pon_ports + 1)
    ]
    bng_port = services.port_create(parent=bng, position="3", capacity_mbps=10_000)
    services.link_create(name=f"{olt.name}-UPLINK", a_end=uplink, z_end=bng_port)
    number = Resource.objects.filter(resource_kind=ResourceKind.IP_PREFIX).count()
    vlan_pool = services.vlan_pool_create(
        name=f"VLANS-{bng.name}", first_vid=vlans[0], last_vid=vlans[1], device=bng
    )
    ip_pool = services.ip_prefix_create(
        name=f"IP-{bng.name}", prefix=f"100.64.{number}.0/27", device=bng
    )
    return {
        "olt": olt,
        "bng": bng,
        "pon_ports": ports,
        "bng_port": bng_port,
        "vlan_pool": vlan_pool,
        "ip_pool": ip_pool,
    }
