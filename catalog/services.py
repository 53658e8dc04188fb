"""Every meaningful write of the catalog, and the checks other apps run against it."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import models, transaction

from catalog.choices import (
    LIFECYCLE_TRANSITIONS,
    LifecycleStatus,
    MarketSegment,
    PriceType,
    ValueType,
)
from catalog.models import (
    Catalog,
    Category,
    CharacteristicSpecification,
    PriceTier,
    ProductOffering,
    ProductOfferingLifecycleChange,
    ProductOfferingPrice,
    ProductOfferingPriceLifecycleChange,
    ProductSpecification,
    ServiceSpecification,
)
from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.ids import parse_id
from telco.money import DEFAULT_CURRENCY, plain_decimal
from telco.selectors import row_with_id
from telco.states import transition

BOOLEAN_VALUES = {"true", "false"}


def _check_value_type(characteristic, value: str) -> None:
    if characteristic.value_type == ValueType.NUMBER:
        try:
            Decimal(value)
        except InvalidOperation:
            raise DomainError(f"'{value}' is not a number.", field=characteristic.name) from None
        if not Decimal(value).is_finite():
            raise DomainError(f"'{value}' is not a number.", field=characteristic.name)
    elif characteristic.value_type == ValueType.BOOLEAN and value.lower() not in BOOLEAN_VALUES:
        raise DomainError(f"'{value}' is not true or false.", field=characteristic.name)


def characteristics_validate(
    *, product_specification: ProductSpecification, values: dict[str, str]
) -> dict[str, str]:
    """Check chosen characteristic values against the spec; return all values, defaults filled.

    Unknown names, values outside `allowed_values`, values that do not parse as the declared type
    and required characteristics left without a value raise `DomainError(field=<name>)`.
    """
    characteristics = {c.name: c for c in product_specification.characteristics.all()}
    for name in values:
        if name not in characteristics:
            raise DomainError(
                f"'{name}' is not a characteristic of '{product_specification.name}'.", field=name
            )
    result = {}
    for name, characteristic in characteristics.items():
        value = values.get(name)
        value = "" if value is None else str(value)
        if value == "":
            value = characteristic.default_value
        if value == "":
            if characteristic.is_required:
                raise DomainError("A value is required.", field=name)
            continue
        allowed = [str(v) for v in characteristic.allowed_values or []]
        if allowed and value not in allowed:
            raise DomainError(
                f"'{value}' is not one of the allowed values: {', '.join(allowed)}.", field=name
            )
        _check_value_type(characteristic, value)
        _check_range(characteristic, value)
        result[name] = value
    return result


def _check_range(characteristic, value: str) -> None:
    if characteristic.value_type != ValueType.NUMBER:
        return
    low, high = characteristic.min_value, characteristic.max_value
    number = Decimal(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{plain_decimal(low) if low is not None else '...'} to "
        bounds += plain_decimal(high) if high is not None else "..."
        raise DomainError(f"'{value}' is outside the range {bounds}.", field=characteristic.name)


def _check_name_free(model, name: str, *, label: str, instance=None) -> None:
    """Refuse a `name` that another row of `model` (other than `instance`) already has."""
    others = model.objects.filter(name=name)
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    if others.exists():
        raise DomainError(f"A {label} named '{name}' exists.", field="name")


def _save_changes(row, changes: dict):
    """Set the patched fields on `row`, stamp `last_update` and save those fields only."""
    for field, value in changes.items():
        setattr(row, field, value)
    row.last_update = clock.now()
    row.save(update_fields=[*changes, "last_update"])
    return row


# --- specifications ---------------------------------------------------------------------------


def _characteristics_replace(*, specification: ProductSpecification, characteristics: list[dict]):
    names = [c["name"] for c in characteristics]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DomainError(
            f"Characteristic '{duplicates[0]}' is given twice.", field="productSpecCharacteristic"
        )
    for index, characteristic in enumerate(characteristics):
        field = f"productSpecCharacteristic[{index}].productSpecCharacteristicValue"
        default = characteristic.get("default_value", "")
        allowed = characteristic.get("allowed_values", [])
        if default and allowed and default not in allowed:
            raise DomainError(f"The default '{default}' is not one of the values.", field=field)
        _check_characteristic_range(characteristic, field)
    specification.characteristics.all().delete()
    CharacteristicSpecification.objects.bulk_create(
        CharacteristicSpecification(product_specification=specification, **c)
        for c in characteristics
    )


def _check_characteristic_range(characteristic: dict, field: str) -> None:
    """A range (valueFrom/valueTo) is for numbers, ordered, and holds the default and values."""
    low, high = characteristic.get("min_value"), characteristic.get("max_value")
    if low is None and high is None:
        return
    if characteristic.get("value_type", ValueType.STRING) != ValueType.NUMBER:
        raise DomainError("Only a number characteristic has a range.", field=f"{field}.valueFrom")
    if low is not None and high is not None and low > high:
        raise DomainError("valueFrom must not be above valueTo.", field=f"{field}.valueFrom")
    probe = CharacteristicSpecification(value_type=ValueType.NUMBER, min_value=low, max_value=high)
    for value in [*characteristic.get("allowed_values", []), characteristic.get("default_value")]:
        if value in (None, ""):
            continue
        probe.name = str(value)
        try:
            _check_value_type(probe, str(value))
            _check_range(probe, str(value))
        except DomainError as error:
            raise DomainError(error.message, field=f"{field}.value") from None


def _rows_with_ids(model, ids: list[str], *, field: str, label: str) -> list:
    """The rows of `model` the client's `ids` name, in their order, in one query; an id that
    names none raises `DomainError(field=<field>[<index>].id)`."""
    parsed = [parse_id(raw) for raw in ids]
    found = model.objects.in_bulk([i for i in parsed if i is not None])
    for index, (raw, row_id) in enumerate(zip(ids, parsed, strict=True)):
        if row_id not in found:
            raise DomainError(f"{label} '{raw}' does not exist.", field=f"{field}[{index}].id")
    return [found[i] for i in parsed]


def _service_specifications(ids: list[str]) -> list[ServiceSpecification]:
    return _rows_with_ids(
        ServiceSpecification, ids, field="serviceSpecification", label="Service specification"
    )


@transaction.atomic
def product_specification_create(
    *,
    name: str,
    description: str = "",
    brand: str = "",
    version: str = "1.0",
    lifecycle_status: str = LifecycleStatus.IN_DESIGN,
    characteristics: list[dict] | None = None,
    service_specification_ids: list[str] | None = None,
) -> ProductSpecification:
    """Create a product specification with its characteristics and service specifications."""
    _check_name_free(ProductSpecification, name, label="product specification")
    services = _service_specifications(service_specification_ids or [])
    specification = ProductSpecification.objects.create(
        name=name,
        description=description,
        brand=brand,
        version=version,
        lifecycle_status=lifecycle_status,
    )
    specification.service_specifications.set(services)
    _characteristics_replace(specification=specification, characteristics=characteristics or [])
    return specification


@transaction.atomic
def product_specification_update(
    *, specification: ProductSpecification, changes: dict
) -> ProductSpecification:
    """Apply a merge patch: plain fields, and whole-list replacement of characteristics/services.

    `changes` holds model field names, plus `characteristics` and `service_specification_ids`.
    """
    changes = dict(changes)
    characteristics = changes.pop("characteristics", None)
    service_ids = changes.pop("service_specification_ids", None)
    if changes.get("name"):
        _check_name_free(
            ProductSpecification,
            changes["name"],
            label="product specification",
            instance=specification,
        )
    if service_ids is not None:
        services = _service_specifications(service_ids)
        specification.service_specifications.set(services)
    if characteristics is not None:
        _characteristics_replace(specification=specification, characteristics=characteristics)
    return _save_changes(specification, changes)


@transaction.atomic
def product_specification_delete(*, specification: ProductSpecification) -> None:
    """Delete a specification and its characteristics; refused (409) while an offering uses it."""
    offering = specification.offerings.order_by("id").first()
    if offering is not None:
        raise Conflict(
            f"Product specification '{specification.name}' is used by the offering "
            f"'{offering.name}' and cannot be deleted."
        )
    specification.delete()


# --- offerings --------------------------------------------------------------------------------


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


def _check_validity(valid_from, valid_to) -> None:
    if valid_from and valid_to and valid_to <= valid_from:
        raise DomainError("The end must be after the start.", field="validFor.endDateTime")


def _check_validity_patch(row, changes: dict) -> None:
    """The validity period `row` would have once `changes` apply ends after it starts."""
    _check_validity(
        changes.get("valid_from", row.valid_from), changes.get("valid_to", row.valid_to)
    )


def _categories(ids: list[str]) -> list[Category]:
    return _rows_with_ids(Category, ids, field="category", label="Category")


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
    offerings = _rows_with_ids(ProductOffering, ids, field=field, label="Product offering")
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
    _check_name_free(ProductOffering, name, label="product offering")
    _check_validity(valid_from, valid_to)
    categories = _categories(category_ids or [])
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
        _check_name_free(
            ProductOffering, changes["name"], label="product offering", instance=offering
        )
    _check_validity_patch(offering, changes)
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
        offering.categories.set(_categories(category_ids))
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
    return _save_changes(offering, changes)


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


# --- prices -----------------------------------------------------------------------------------


def _check_tiers(tiers: list[dict], currency: str) -> None:
    """Given in order, contiguous from 0, each above the last; only the last may be open-ended."""
    previous_upper = Decimal(0)
    for index, tier in enumerate(tiers):
        field = f"priceTier[{index}]"
        if tier.get("currency", currency).upper() != currency:
            raise DomainError(
                f"A tier is priced in the price's currency ({currency}).",
                field=f"{field}.price.unit",
            )
        lower, upper = Decimal(tier["lower_bound"]), tier.get("upper_bound")
        if lower != previous_upper:
            where = "at 0" if index == 0 else f"where tier {index - 1} ends ({previous_upper})"
            raise DomainError(f"This tier must start {where}.", field=f"{field}.lowerBound")
        if upper is None and index != len(tiers) - 1:
            raise DomainError("Only the last tier can be open-ended.", field=f"{field}.upperBound")
        if upper is not None and Decimal(upper) <= lower:
            raise DomainError(
                "The upper bound must be above the lower.", field=f"{field}.upperBound"
            )
        if tier["unit_amount"] is None or Decimal(tier["unit_amount"]) < 0:
            raise DomainError("A price cannot be negative.", field=f"{field}.price.value")
        previous_upper = Decimal(upper) if upper is not None else None


def _check_price(price: ProductOfferingPrice, tiers: list[dict] | None = None) -> None:
    """Every value given is acceptable, in any lifecycle status; what is still missing is only
    refused at launch (`_check_launchable`)."""
    if price.amount is not None and price.amount < 0:
        raise DomainError("A price cannot be negative.", field="price.value")
    if price.price_type == PriceType.RECURRING and not price.recurring_period:
        raise DomainError("A recurring price needs a period.", field="recurringChargePeriodType")
    if price.price_type != PriceType.RECURRING and price.recurring_period:
        raise DomainError("Only a recurring price has a period.", field="recurringChargePeriodType")
    if price.price_type == PriceType.USAGE:
        if not price.rating_group:
            raise DomainError("A usage price needs a rating group.", field="ratingGroup")
        if not price.unit_of_measure:
            raise DomainError("A usage price needs a unit.", field="unitOfMeasure.units")
    elif price.rating_group or price.included_allowance:
        raise DomainError("Only a usage price has a rating group.", field="ratingGroup")
    if price.included_allowance < 0:
        raise DomainError("An allowance cannot be negative.", field="includedAllowance.amount")
    if price.price_type == PriceType.DISCOUNT:
        if price.percentage is not None and price.amount:
            raise DomainError(
                "A discount is a percentage or an amount, not both.", field="percentage"
            )
        if price.percentage is not None and not 0 < price.percentage <= 100:
            raise DomainError("A percentage is above 0 and at most 100.", field="percentage")
    else:
        if price.percentage is not None:
            raise DomainError("Only a discount has a percentage.", field="percentage")
        if price.applies_for_periods is not None:
            raise DomainError(
                "Only a discount has an application duration.", field="applicationDuration"
            )
    if price.applies_for_periods is not None and price.applies_for_periods < 1:
        raise DomainError(
            "A discount applies for at least one period.", field="applicationDuration"
        )
    if tiers:
        if price.price_type != PriceType.USAGE:
            raise DomainError("Only a usage price has tiers.", field="priceTier")
        _check_tiers(tiers, price.currency)
    _check_validity(price.valid_from, price.valid_to)


def _check_launchable(price: ProductOfferingPrice) -> None:
    """A launched price is used for ordering and rating, so it must say of what, what kind and
    how much; `DomainError` naming what is missing."""
    if price.product_offering_id is None:
        raise DomainError(
            "A price needs a product offering before it is launched.", field="productOffering"
        )
    if not price.price_type:
        raise DomainError("A price needs a type before it is launched.", field="priceType")
    if price.price_type == PriceType.DISCOUNT and price.amount is None:
        raise DomainError(
            "A discount needs a percentage or a price before it is launched.",
            field="percentage",
        )
    if price.amount is None:
        raise DomainError("A price needs a value before it is launched.", field="price")


def _normalise_amount(price: ProductOfferingPrice, tiers: list[dict] | None) -> None:
    """A percentage discount, or a usage price its tiers replace, has a flat amount of 0."""
    if price.amount is None and (
        (price.price_type == PriceType.DISCOUNT and price.percentage is not None)
        or (tiers and price.price_type == PriceType.USAGE)
    ):
        price.amount = Decimal(0)


def _tiers_replace(price: ProductOfferingPrice, tiers: list[dict]) -> None:
    price.tiers.all().delete()
    PriceTier.objects.bulk_create(
        PriceTier(
            price=price,
            lower_bound=tier["lower_bound"],
            upper_bound=tier.get("upper_bound"),
            unit_amount=tier["unit_amount"],
        )
        for tier in tiers
    )


@transaction.atomic
def price_create(
    *,
    name: str,
    product_offering: ProductOffering | None = None,
    price_type: str = "",
    amount: Decimal | None = None,
    currency: str = DEFAULT_CURRENCY,
    recurring_period: str = "",
    rating_group: str = "",
    unit_of_measure: str = "",
    included_allowance: Decimal = Decimal(0),
    percentage: Decimal | None = None,
    applies_for_periods: int | None = None,
    tiers: list[dict] | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
    lifecycle_status: str = LifecycleStatus.IN_DESIGN,
    by: str = "",
) -> ProductOfferingPrice:
    """Create a price: one-time, recurring per period, usage, or a discount; in design unless
    `lifecycle_status` says launched.

    Only `name` is needed to design a price; its offering, type and value are needed to launch it
    (`DomainError` naming the missing one). A usage price may carry `tiers` ({lower_bound,
    upper_bound, unit_amount}: contiguous from 0) which then replace its flat amount; a discount
    is a `percentage` or a fixed `amount` off the recurring charges, for `applies_for_periods`
    periods (None: for ever).
    """
    if lifecycle_status not in (LifecycleStatus.IN_DESIGN, LifecycleStatus.LAUNCHED):
        raise DomainError("A price starts in design or launched.", field="lifecycleStatus")
    now = clock.now()
    price = ProductOfferingPrice(
        product_offering=product_offering,
        name=name,
        price_type=price_type,
        amount=amount,
        currency=currency,
        recurring_period=recurring_period,
        rating_group=rating_group,
        unit_of_measure=unit_of_measure,
        included_allowance=included_allowance,
        percentage=percentage,
        applies_for_periods=applies_for_periods,
        lifecycle_status=LifecycleStatus.IN_DESIGN,
        valid_from=valid_from or now,
        valid_to=valid_to,
        last_update=now,
    )
    _normalise_amount(price, tiers)
    _check_price(price, tiers)
    if lifecycle_status == LifecycleStatus.LAUNCHED:
        _check_launchable(price)
    price.save()
    _tiers_replace(price, tiers or [])
    if lifecycle_status == LifecycleStatus.LAUNCHED:
        price = _price_move(price, LifecycleStatus.LAUNCHED, by=by)
    if product_offering is not None:
        ProductOffering.objects.filter(pk=product_offering.pk).update(last_update=now)
    return price


def _price_move(price: ProductOfferingPrice, target: str, *, by: str) -> ProductOfferingPrice:
    """Move a price through the catalog lifecycle table, with a history row (who, when)."""
    return transition(
        price,
        target,
        transitions=LIFECYCLE_TRANSITIONS,
        history=ProductOfferingPriceLifecycleChange,
        history_fk="price",
        field="lifecycle_status",
        by=by,
    )


# Changing these on a price already sold would rewrite what customers agreed to: end the price's
# validity and add a new one instead.
PRICE_TERMS = {
    "amount",
    "currency",
    "price_type",
    "recurring_period",
    "rating_group",
    "percentage",
    "applies_for_periods",
    "product_offering",
}


def _tier_key(tiers) -> list[tuple]:
    return [
        (
            Decimal(t["lower_bound"]),
            None if t.get("upper_bound") is None else Decimal(t["upper_bound"]),
            Decimal(t["unit_amount"]),
        )
        for t in tiers
    ]


@transaction.atomic
def price_update(
    *, price: ProductOfferingPrice, changes: dict, by: str = ""
) -> ProductOfferingPrice:
    """Apply a merge patch to a price; its terms (and tiers) are frozen once the offering is in use.

    `tiers`, when given, replaces the whole list. A `lifecycle_status` change goes through the
    lifecycle table; a launched price (launched now or before) must be complete
    (`_check_launchable`), so a patch can never leave one in force without a value or offering.
    """
    changes = dict(changes)
    tiers = changes.pop("tiers", None)
    target = changes.pop("lifecycle_status", None)
    changed_terms = sorted(
        field for field in PRICE_TERMS & set(changes) if changes[field] != getattr(price, field)
    )
    current_tiers = [
        {"lower_bound": t.lower_bound, "upper_bound": t.upper_bound, "unit_amount": t.unit_amount}
        for t in price.tiers.order_by("lower_bound")
    ]
    if tiers is not None and _tier_key(tiers) != _tier_key(current_tiers):
        changed_terms.append("tiers")
    if (
        changed_terms
        and price.product_offering is not None
        and offering_in_use(offering=price.product_offering)
    ):
        raise Conflict(
            "The offering is in use: end this price's validFor and add a new price instead."
        )
    for field, value in changes.items():
        setattr(price, field, value)
    _normalise_amount(price, tiers)
    _check_price(price, tiers if tiers is not None else current_tiers)
    if LifecycleStatus.LAUNCHED in (target, price.lifecycle_status):
        _check_launchable(price)
    price.last_update = clock.now()
    price.save()
    if tiers is not None:
        _tiers_replace(price, tiers)
    if target is not None and target != price.lifecycle_status:
        price = _price_move(price, target, by=by)
    return price


@transaction.atomic
def price_delete(*, price: ProductOfferingPrice) -> None:
    """Delete a price; refused (409) once its offering is in use."""
    if price.product_offering is not None and offering_in_use(offering=price.product_offering):
        raise Conflict(
            f"Product offering '{price.product_offering.name}' is in use: end this price's "
            "validFor instead of deleting it."
        )
    price.delete()


# --- categories and catalogs ------------------------------------------------------------------


def _category_parent(parent_id: str | None, *, category: Category | None) -> Category | None:
    """The parent named by `parentId`; never the category itself or one of its descendants."""
    if parent_id in (None, ""):
        return None
    parent = row_with_id(Category.objects, parent_id)
    if parent is None:
        raise DomainError(f"Category '{parent_id}' does not exist.", field="parentId")
    if category is not None:
        ancestor, seen = parent, set()
        while ancestor is not None and ancestor.pk not in seen:
            if ancestor.pk == category.pk:
                raise DomainError("A category cannot sit under itself.", field="parentId")
            seen.add(ancestor.pk)
            ancestor = ancestor.parent
    return parent


@transaction.atomic
def category_create(
    *,
    name: str,
    description: str = "",
    parent_id: str | None = None,
    lifecycle_status: str = LifecycleStatus.LAUNCHED,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> Category:
    """Create a category, at the root or under `parent_id`."""
    _check_name_free(Category, name, label="category")
    _check_validity(valid_from, valid_to)
    now = clock.now()
    return Category.objects.create(
        name=name,
        description=description,
        parent=_category_parent(parent_id, category=None),
        lifecycle_status=lifecycle_status,
        valid_from=valid_from or now,
        valid_to=valid_to,
        last_update=now,
    )


@transaction.atomic
def category_update(*, category: Category, changes: dict) -> Category:
    """Apply a merge patch; `parent_id` moves the category (never under itself)."""
    changes = dict(changes)
    if changes.get("name"):
        _check_name_free(Category, changes["name"], label="category", instance=category)
    if "parent_id" in changes:
        changes["parent"] = _category_parent(changes.pop("parent_id"), category=category)
    _check_validity_patch(category, changes)
    return _save_changes(category, changes)


@transaction.atomic
def category_delete(*, category: Category) -> None:
    """Delete a category; refused (409) while it has subcategories or offerings."""
    if category.children.exists():
        raise Conflict(f"Category '{category.name}' has subcategories: move or delete them first.")
    if category.offerings.exists():
        raise Conflict(f"Category '{category.name}' still holds offerings.")
    category.delete()


@transaction.atomic
def catalog_create(
    *,
    name: str,
    description: str = "",
    catalog_type: str = "",
    lifecycle_status: str = LifecycleStatus.LAUNCHED,
    category_ids: list[str] | None = None,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> Catalog:
    """Create a catalog holding the given categories."""
    _check_name_free(Catalog, name, label="catalog")
    _check_validity(valid_from, valid_to)
    categories = _categories(category_ids or [])
    now = clock.now()
    catalog = Catalog.objects.create(
        name=name,
        description=description,
        catalog_type=catalog_type,
        lifecycle_status=lifecycle_status,
        valid_from=valid_from or now,
        valid_to=valid_to,
        last_update=now,
    )
    catalog.categories.set(categories)
    return catalog


@transaction.atomic
def catalog_update(*, catalog: Catalog, changes: dict) -> Catalog:
    """Apply a merge patch; `category_ids` replaces the whole list of categories."""
    changes = dict(changes)
    category_ids = changes.pop("category_ids", None)
    if changes.get("name"):
        _check_name_free(Catalog, changes["name"], label="catalog", instance=catalog)
    _check_validity_patch(catalog, changes)
    if category_ids is not None:
        catalog.categories.set(_categories(category_ids))
    return _save_changes(catalog, changes)


@transaction.atomic
def catalog_delete(*, catalog: Catalog) -> None:
    """Delete a catalog; its categories and offerings stay."""
    catalog.delete()
