"""Reads of the catalog shared by the API, the order capture and billing."""

from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet, TextField
from django.db.models.functions import Cast

from catalog.choices import LifecycleStatus
from catalog.models import (
    Catalog,
    Category,
    CharacteristicSpecification,
    PriceTier,
    ProductOffering,
    ProductOfferingPrice,
    ProductSpecification,
    ResourceSpecification,
    ServiceLevelAgreement,
    ServiceSpecification,
)
from telco import clock
from telco.exceptions import NotFound
from telco.ids import parse_id


def offering_get(*, offering_id) -> ProductOffering:
    """The offering with its specification; `NotFound` for an unknown id."""
    pk = parse_id(offering_id)
    if pk is None:
        raise NotFound(f"Product offering '{offering_id}' does not exist.")
    try:
        return ProductOffering.objects.select_related("product_specification").get(pk=pk)
    except ProductOffering.DoesNotExist:
        raise NotFound(f"Product offering '{offering_id}' does not exist.") from None


def _tiers() -> Prefetch:
    return Prefetch("tiers", queryset=PriceTier.objects.order_by("lower_bound"))


def _valid_at(at: datetime) -> Q:
    """Rows whose validity holds `at`: valid_from <= at < valid_to (open-ended if no end)."""
    return Q(valid_from__lte=at) & (Q(valid_to__isnull=True) | Q(valid_to__gt=at))


def prices_in_force(*, at: datetime) -> QuerySet[ProductOfferingPrice]:
    """Every launched price valid at `at`, in id order, each with its `tiers` (by lower bound)
    prefetched.

    The rule of which price applies when; read it here rather than comparing the dates again.
    A price in design or retired is never used for ordering or rating.
    """
    return (
        ProductOfferingPrice.objects.filter(
            _valid_at(at), lifecycle_status=LifecycleStatus.LAUNCHED
        )
        .prefetch_related(_tiers())
        .order_by("id")
    )


def offering_prices_in_force(
    *, offering: ProductOffering, at: datetime
) -> list[ProductOfferingPrice]:
    """The offering's prices valid at `at` (see `prices_in_force`), tiers prefetched."""
    return list(prices_in_force(at=at).filter(product_offering=offering))


def launched_prices_of(offering_ids) -> QuerySet[ProductOfferingPrice]:
    """The launched prices of the offerings, whatever their validity, in id order, tiers
    prefetched: a bill run reads them once for many products and periods and picks those in
    force with `price_valid_at` (the same rule as `prices_in_force`)."""
    return (
        ProductOfferingPrice.objects.filter(
            product_offering_id__in=offering_ids, lifecycle_status=LifecycleStatus.LAUNCHED
        )
        .prefetch_related(_tiers())
        .order_by("id")
    )


def price_valid_at(price: ProductOfferingPrice, at: datetime) -> bool:
    """`_valid_at` on a price in hand: valid_from <= at < valid_to (open-ended if no end)."""
    return price.valid_from <= at and (price.valid_to is None or price.valid_to > at)


def offerings_orderable_by(segment: str, at: datetime | None = None) -> QuerySet[ProductOffering]:
    """Offerings a customer of `segment` can order at `at` (now by default).

    Launched, sellable, inside their validity period and eligible for the segment (an empty
    `market_segments` means every segment). Specification, characteristics, categories, bundled
    offerings and the prices in force at `at` (with tiers) come prefetched, in a fixed number of
    queries.
    """
    at = at or clock.now()
    return (
        ProductOffering.objects.filter(
            _valid_at(at), lifecycle_status=LifecycleStatus.LAUNCHED, is_sellable=True
        )
        # Through the JSON text, so the embedded SQLite demo answers too (no jsonb containment
        # there); segment values hold no quotes, so '"consumer"' matches one whole element.
        .alias(segments_text=Cast("market_segments", TextField()))
        .filter(Q(segments_text="[]") | Q(segments_text__contains=f'"{segment}"'))
        .select_related("product_specification")
        .prefetch_related(
            Prefetch(
                "product_specification__characteristics",
                queryset=CharacteristicSpecification.objects.order_by("id"),
            ),
            Prefetch("prices", queryset=prices_in_force(at=at)),
            Prefetch("categories", queryset=Category.objects.order_by("id")),
            Prefetch("bundled_offerings", queryset=ProductOffering.objects.order_by("id")),
        )
        .order_by("name", "id")
    )


def product_specification_list() -> QuerySet[ProductSpecification]:
    """Product specifications with their characteristics and service specifications."""
    return ProductSpecification.objects.prefetch_related(
        Prefetch("characteristics", queryset=CharacteristicSpecification.objects.order_by("id")),
        "service_specifications",
    ).order_by("id")


def offering_list() -> QuerySet[ProductOffering]:
    """Offerings with their specification, prices, categories and bundled offerings."""
    return (
        ProductOffering.objects.select_related("product_specification")
        .prefetch_related(
            Prefetch("prices", queryset=ProductOfferingPrice.objects.order_by("id")),
            Prefetch("categories", queryset=Category.objects.order_by("id")),
            Prefetch("bundled_offerings", queryset=ProductOffering.objects.order_by("id")),
        )
        .order_by("id")
    )


def offering_price_list() -> QuerySet[ProductOfferingPrice]:
    """Prices with their offering and tiers."""
    return (
        ProductOfferingPrice.objects.select_related("product_offering")
        .prefetch_related(_tiers())
        .order_by("id")
    )


def service_specification_list() -> QuerySet[ServiceSpecification]:
    """Service specifications with their resource specifications and supporting (RFS) ones."""
    return ServiceSpecification.objects.prefetch_related(
        Prefetch("resource_specifications", queryset=ResourceSpecification.objects.order_by("id")),
        Prefetch("supporting_specifications", queryset=ServiceSpecification.objects.order_by("id")),
    ).order_by("id")


def category_list() -> QuerySet[Category]:
    """Categories with their parent, direct children and offerings."""
    return (
        Category.objects.select_related("parent")
        .prefetch_related(
            Prefetch("children", queryset=Category.objects.order_by("id")),
            Prefetch("offerings", queryset=ProductOffering.objects.order_by("id")),
        )
        .order_by("id")
    )


def catalog_list() -> QuerySet[Catalog]:
    """Catalogs with their categories."""
    return Catalog.objects.prefetch_related(
        Prefetch("categories", queryset=Category.objects.order_by("id"))
    ).order_by("id")


def resource_specification_list() -> QuerySet[ResourceSpecification]:
    return ResourceSpecification.objects.order_by("id")


def slas() -> QuerySet[ServiceLevelAgreement]:
    """Every SLA (the terms of an offering) with its offering, in id order."""
    return ServiceLevelAgreement.objects.select_related("offering").order_by("id")


def sla_of_offering(*, offering_id: int) -> ServiceLevelAgreement | None:
    """The SLA terms of the offering, or None if it promises none."""
    return slas().filter(offering_id=offering_id).first()


def offering_ids_with_sla() -> QuerySet:
    """The ids of the offerings that carry SLA terms (a subquery: `product_offering_id__in=`)."""
    return ServiceLevelAgreement.objects.values("offering_id")


def offering_product_lines() -> dict[int, str]:
    """Each offering's product line (offering id -> name): the top-level category above its
    first category. Offerings in no category are absent. Two queries, whatever the catalog."""
    categories = {
        pk: (parent_id, name)
        for pk, parent_id, name in Category.objects.values_list("id", "parent_id", "name")
    }

    def top(category_id: int) -> str:
        seen = set()
        while categories[category_id][0] is not None and category_id not in seen:
            seen.add(category_id)
            category_id = categories[category_id][0]
        return categories[category_id][1]

    lines: dict[int, str] = {}
    memberships = ProductOffering.categories.through.objects.order_by(
        "productoffering_id", "category_id"
    ).values_list("productoffering_id", "category_id")
    for offering_id, category_id in memberships:
        lines.setdefault(offering_id, top(category_id))
    return lines
