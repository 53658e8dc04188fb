"""Reads of the catalog shared by the API, the order capture and billing."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet

from catalog.models import (
    CharacteristicSpecification,
    ProductOffering,
    ProductOfferingPrice,
    ProductSpecification,
    ResourceSpecification,
    ServiceSpecification,
)
from telco.exceptions import NotFound


def offering_get(*, offering_id) -> ProductOffering:
    """The offering with its specification; `NotFound` for an unknown id."""
    if not str(offering_id).isdigit():
        raise NotFound(f"Product offering '{offering_id}' does not exist.")
    try:
        return ProductOffering.objects.select_related("product_specification").get(
            pk=int(offering_id)
        )
    except ProductOffering.DoesNotExist:
        raise NotFound(f"Product offering '{offering_id}' does not exist.") from None


def offering_prices_in_force(
    *, offering: ProductOffering, at: datetime
) -> list[ProductOfferingPrice]:
    """The offering's prices valid at `at`: valid_from <= at < valid_to (open-ended if no end)."""
    return list(
        ProductOfferingPrice.objects.filter(product_offering=offering, valid_from__lte=at)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
        .order_by("id")
    )


def product_specification_list() -> QuerySet[ProductSpecification]:
    """Product specifications with their characteristics and service specifications."""
    return ProductSpecification.objects.prefetch_related(
        Prefetch("characteristics", queryset=CharacteristicSpecification.objects.order_by("id")),
        "service_specifications",
    ).order_by("id")


def offering_list() -> QuerySet[ProductOffering]:
    """Offerings with their specification and prices."""
    return (
        ProductOffering.objects.select_related("product_specification")
        .prefetch_related(Prefetch("prices", queryset=ProductOfferingPrice.objects.order_by("id")))
        .order_by("id")
    )


def offering_price_list() -> QuerySet[ProductOfferingPrice]:
    """Prices with their offering."""
    return ProductOfferingPrice.objects.select_related("product_offering").order_by("id")


def service_specification_list() -> QuerySet[ServiceSpecification]:
    """Service specifications with the resource specifications they are built from."""
    return ServiceSpecification.objects.prefetch_related("resource_specifications").order_by("id")


def resource_specification_list() -> QuerySet[ResourceSpecification]:
    return ResourceSpecification.objects.order_by("id")
