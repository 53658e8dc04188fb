"""Product offerings (TMF620 ProductOffering): creating, changing and launching or retiring
them, bundles of offerings, and whether an offering is in use."""

from datetime import datetime

from django.db import models, transaction

from catalog.choices import LIFECYCLE_TRANSITIONS, LifecycleStatus, MarketSegment
from catalog.models import ProductOffering, ProductOfferingLifecycleChange, ProductSpecification
from catalog.services.categories import categories_with_ids
from catalog.services.common import (
    check_name_free,
    check_validity,
    check_validity_patch,
    rows_with_ids,
    save_changes,
)
from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.states import transition


def offering_in_use(*, offering: ProductOffering) -> bool:
    """Is the offering referenced by anything that protects it (order items, product instances)?

    Read from the model's reverse relations, so the catalog need not import the apps above it.
    """
    for relation in ProductOffering._meta.related_objects:
        if relation.on_delete is models.PROTECT and (
            relation.related_model._default_manager.filter(
                **{relation.field.name: offering}
            ).exists()
        ):
            return True
    return False


def _check_segments(segments: list[str]) -> list[str]:
    for index, segment in enumerate(segments):
        if segment not in MarketSegment.values:
            raise DomainError(
                f"'{segment}' is not a market segment: {', '.join(MarketSegment.values)}.",
                field=f"marketSegment[{index}].id",
            )
        if segment in segments[:index]:
            raise DomainError(f"'{segment}' is given twice.", field=f"marketSegment[{index}].id")
    return list(segments)


def _bundled_offerings(ids: list[str], *, bundle: ProductOffering | None) -> list[ProductOffering]:
    """The offerings a bundle holds: existing, not itself, not retired, not bundles themselves."""
    field = "bundledProductOffering"
    if len(ids) < 2:
        raise DomainError("A bundle holds at least two offerings.", field=field)
    offerings = rows_with_ids(ProductOffering, ids, field=field, label="Product offering")
    for index, offering in enumerate(offerings):
        item = f"{field}[{index}].id"
        if bundle is not None and offering.pk == bundle.pk:
            raise DomainError("A bundle cannot contain itself.", field=item)
        if offering.lifecycle_status == LifecycleStatus.RETIRED:
            raise DomainError(f"'{offering.name}' is retired.", field=item)
        # One level only, so no bundle can ever contain itself through another one.
        if offering.is_bundle:
            raise DomainError(f"'{offering.name}' is itself a bundle.", field=item)
        if offering in offerings[:index]:
            raise DomainError(f"'{offering.name}' is given twice.", field=item)
    return offerings


def _bundle_contents(
    *, is_bundle: bool, ids: list[str] | None, bundle: ProductOffering | None
) -> list[ProductOffering]:
    """What an offering holds: a bundle its (checked) `ids`, any other offering nothing."""
    if is_bundle:
        return _bundled_offerings(ids or [], bundle=bundle)
    if ids:
        raise DomainError(
            "Only a bundle (isBundle true) holds offerings.", field="bundledProductOffering"
        )
    return []


def _check_bundle_launch(offering: ProductOffering) -> None:
    """A bundle goes on sale only when everything in it is on sale."""
    if not offering.is_bundle:
        return
    waiting = [
        o.name
        for o in offering.bundled_offerings.order_by("id")
        if o.lifecycle_status != LifecycleStatus.LAUNCHED
    ]
    if waiting:
        raise Conflict(
            f"Launch the bundled offerings first: {', '.join(waiting)}.", field="lifecycleStatus"
        )


def _check_not_in_a_live_bundle(offering: ProductOffering) -> None:
    """An offering cannot be retired from under a bundle still on sale (or being designed)."""
    bundle = (
        offering.bundles.exclude(lifecycle_status=LifecycleStatus.RETIRED).order_by("id").first()
    )
    if bundle is not None:
        raise Conflict(
            f"'{offering.name}' is part of the bundle '{bundle.name}': retire the bundle first.",
            field="lifecycleStatus",
        )


@transaction.atomic
def offering_create(
    *,
    name: str,
    product_specification: ProductSpecification,
    description: str = "",
    is_sellable: bool = True,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    category_ids: list[str] | None = None,
    market_segments: list[str] | None = None,
    is_bundle: bool = False,
    bundled_offering_ids: list[str] | None = None,
) -> ProductOffering:
    """Create an offering, in design: it is launched with `offering_update`.

    A bundle (`is_bundle`) names at least two bundled offerings, none retired, none a bundle.
    """
    check_name_free(ProductOffering, name, label="product offering")
    check_validity(valid_from, valid_to)
    categories = categories_with_ids(category_ids or [])
    segments = _check_segments(market_segments or [])
    bundled = _bundle_contents(is_bundle=is_bundle, ids=bundled_offering_ids, bundle=None)
    now = clock.now()
    offering = ProductOffering.objects.create(
        name=name,
        product_specification=product_specification,
        description=description,
        is_sellable=is_sellable,
        valid_from=valid_from or now,
        valid_to=valid_to,
        market_segments=segments,
        is_bundle=is_bundle,
        lifecycle_status=LifecycleStatus.IN_DESIGN,
        last_update=now,
    )
    offering.categories.set(categories)
    offering.bundled_offerings.set(bundled)
    return offering


@transaction.atomic
def offering_update(*, offering: ProductOffering, changes: dict, by: str = "") -> ProductOffering:
    """Apply a merge patch; a `lifecycle_status` change goes through the lifecycle table.

    `changes` holds model field names, plus `category_ids` and `bundled_offering_ids` (whole-list
    replacement).
    """
    changes = dict(changes)
    target = changes.pop("lifecycle_status", None)
    category_ids = changes.pop("category_ids", None)
    bundled_ids = changes.pop("bundled_offering_ids", None)
    if changes.get("name"):
        check_name_free(
            ProductOffering, changes["name"], label="product offering", instance=offering
        )
    check_validity_patch(offering, changes)
    if "market_segments" in changes:
        changes["market_segments"] = _check_segments(changes["market_segments"])
    is_bundle = changes.get("is_bundle", offering.is_bundle)
    if is_bundle and not offering.is_bundle and offering.bundles.exists():
        raise DomainError("An offering inside a bundle cannot become a bundle.", field="isBundle")
    if not (is_bundle and offering.is_bundle and bundled_ids is None):  # else: contents kept
        offering.bundled_offerings.set(
            _bundle_contents(is_bundle=is_bundle, ids=bundled_ids, bundle=offering)
        )
    if category_ids is not None:
        offering.categories.set(categories_with_ids(category_ids))
    if target is not None and target != offering.lifecycle_status:
        if target == LifecycleStatus.LAUNCHED:
            _check_bundle_launch(offering)
        if target == LifecycleStatus.RETIRED:
            _check_not_in_a_live_bundle(offering)
        offering = transition(
            offering,
            target,
            transitions=LIFECYCLE_TRANSITIONS,
            history=ProductOfferingLifecycleChange,
            history_fk="offering",
            field="lifecycle_status",
            by=by,
        )
    return save_changes(offering, changes)


@transaction.atomic
def offering_delete(*, offering: ProductOffering) -> None:
    """Delete an offering and its prices; refused (409) once ordered or while in a bundle."""
    if offering_in_use(offering=offering):
        raise Conflict(f"Product offering '{offering.name}' is in use and cannot be deleted.")
    bundle = offering.bundles.order_by("id").first()
    if bundle is not None:
        raise Conflict(
            f"Product offering '{offering.name}' is part of the bundle '{bundle.name}' and "
            "cannot be deleted."
        )
    offering.delete()
