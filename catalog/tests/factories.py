"""Catalog factories, and `five_g_premium_offering()`: the whole catalog of the 5G flow."""

from datetime import UTC, datetime
from decimal import Decimal

import factory

from catalog.choices import (
    LifecycleStatus,
    PriceType,
    RecurringPeriod,
    ResourceKind,
    ServiceCategory,
)
from catalog.models import (
    Catalog,
    Category,
    CharacteristicSpecification,
    PriceTier,
    ProductOffering,
    ProductOfferingPrice,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)


class ResourceSpecificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResourceSpecification
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Resource spec {n}")
    resource_kind = ResourceKind.GNB


class ServiceSpecificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceSpecification
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Service spec {n}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Category {n}")


class CatalogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Catalog
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Catalog {n}")


class ProductSpecificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductSpecification

    name = factory.Sequence(lambda n: f"Product spec {n}")
    brand = "Telco"


class CharacteristicSpecificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CharacteristicSpecification

    product_specification = factory.SubFactory(ProductSpecificationFactory)
    name = factory.Sequence(lambda n: f"characteristic{n}")


class ProductOfferingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductOffering

    name = factory.Sequence(lambda n: f"Offering {n}")
    product_specification = factory.SubFactory(ProductSpecificationFactory)
    lifecycle_status = LifecycleStatus.LAUNCHED


class ProductOfferingPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductOfferingPrice

    product_offering = factory.SubFactory(ProductOfferingFactory)
    name = factory.Sequence(lambda n: f"Price {n}")
    price_type = PriceType.RECURRING
    recurring_period = RecurringPeriod.MONTH
    amount = Decimal("10.00")
    currency = "EUR"


class PriceTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceTier

    price = factory.SubFactory(
        ProductOfferingPriceFactory,
        price_type=PriceType.USAGE,
        recurring_period="",
        rating_group="DATA",
        unit_of_measure="GB",
    )
    lower_bound = Decimal("0")
    upper_bound = None
    unit_amount = Decimal("1.00")


FIVE_G_VALID_FROM = datetime(2026, 1, 1, tzinfo=UTC)


def five_g_service_specification() -> ServiceSpecification:
    """The CFS "5G Slice Service" and its RFS "5G RAN access" (gNB) and "5G network slice"."""
    gnb = ResourceSpecificationFactory(name="gNB", resource_kind=ResourceKind.GNB)
    slice_spec = ResourceSpecificationFactory(name="5G Slice", resource_kind=ResourceKind.SLICE)
    ran = ServiceSpecificationFactory(
        name="5G RAN access", category=ServiceCategory.RESOURCE_FACING
    )
    ran.resource_specifications.add(gnb)
    network_slice = ServiceSpecificationFactory(
        name="5G network slice", category=ServiceCategory.RESOURCE_FACING
    )
    network_slice.resource_specifications.add(slice_spec)
    service_spec = ServiceSpecificationFactory(
        name="5G Slice Service", category=ServiceCategory.CUSTOMER_FACING
    )
    service_spec.resource_specifications.add(gnb, slice_spec)
    service_spec.supporting_specifications.add(ran, network_slice)
    return service_spec


def five_g_premium_offering(*, name: str = "5G Premium") -> ProductOffering:
    """The 5G Premium offering of the shared flow, launched, with its whole catalog.

    Product spec "5G Connectivity" (characteristic `bandwidth`: 100Mbps/500Mbps/1Gbps, default
    500Mbps) -> CFS service spec "5G Slice Service" -> resource specs "gNB" (gnb) and "5G Slice"
    (slice). The CFS is realised by two RFS specs (`supporting_specifications`): "5G RAN access"
    (binds gNB) and "5G network slice" (binds 5G Slice); the CFS still lists both resource specs
    itself, which is what a workflow that does not decompose into RFS reads.
    Prices valid from 2026-01-01: activation 49.00 EUR one-time, 30.00 EUR a month,
    2.00 EUR per GB of rating group DATA_5G_PREMIUM with 5 GB included each period.
    Resource and service specs are reused if they exist; `name` lets a test build two offerings.
    """
    service_spec = five_g_service_specification()
    product_spec = ProductSpecificationFactory(
        name="5G Connectivity" if name == "5G Premium" else f"{name} Connectivity"
    )
    product_spec.service_specifications.add(service_spec)
    CharacteristicSpecificationFactory(
        product_specification=product_spec,
        name="bandwidth",
        allowed_values=["100Mbps", "500Mbps", "1Gbps"],
        default_value="500Mbps",
    )
    offering = ProductOfferingFactory(
        name=name,
        product_specification=product_spec,
        lifecycle_status=LifecycleStatus.LAUNCHED,
        valid_from=FIVE_G_VALID_FROM,
    )
    common = {"product_offering": offering, "currency": "EUR", "valid_from": FIVE_G_VALID_FROM}
    ProductOfferingPriceFactory(
        **common,
        name="Activation fee",
        price_type=PriceType.ONE_TIME,
        recurring_period="",
        amount=Decimal("49.00"),
    )
    ProductOfferingPriceFactory(
        **common,
        name="Monthly fee",
        price_type=PriceType.RECURRING,
        recurring_period=RecurringPeriod.MONTH,
        amount=Decimal("30.00"),
    )
    ProductOfferingPriceFactory(
        **common,
        name="Data usage",
        price_type=PriceType.USAGE,
        recurring_period="",
        amount=Decimal("2.00"),
        rating_group="DATA_5G_PREMIUM",
        unit_of_measure="GB",
        included_allowance=Decimal("5"),
    )
    return offering


def shared_five_g_offering(name: str = "5G Premium") -> ProductOffering:
    """The offering `name` if a test already built it, else `five_g_premium_offering(name=name)`."""
    return ProductOffering.objects.filter(name=name).first() or five_g_premium_offering(name=name)
