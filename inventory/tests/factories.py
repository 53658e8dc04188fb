"""Inventory factories: regions, sites, gNBs, and products/services in a given state."""

import factory

from catalog.choices import ResourceKind
from inventory.choices import ResourceCategory
from inventory.models import Region, Resource, Site


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
