"""Every meaningful write of the catalog, and the checks other apps run against it."""

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import models, transaction
from django.utils import timezone

from catalog.choices import LIFECYCLE_TRANSITIONS, LifecycleStatus, PriceType, ValueType
from catalog.models import (
    CharacteristicSpecification,
    ProductOffering,
    ProductOfferingLifecycleChange,
    ProductOfferingPrice,
    ProductSpecification,
    ServiceSpecification,
)
from telco.exceptions import Conflict, DomainError
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
        result[name] = value
    return result


# --- specifications ---------------------------------------------------------------------------


def _characteristics_replace(*, specification: ProductSpecification, characteristics: list[dict]):
    names = [c["name"] for c in characteristics]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DomainError(
            f"Characteristic '{duplicates[0]}' is given twice.", field="productSpecCharacteristic"
        )
    for index, characteristic in enumerate(characteristics):
        default = characteristic.get("default_value", "")
        allowed = characteristic.get("allowed_values", [])
        if default and allowed and default not in allowed:
            raise DomainError(
                f"The default '{default}' is not one of the values.",
                field=f"productSpecCharacteristic[{index}].productSpecCharacteristicValue",
            )
    specification.characteristics.all().delete()
    CharacteristicSpecification.objects.bulk_create(
        CharacteristicSpecification(product_specification=specification, **c)
        for c in characteristics
    )


def _service_specifications(ids: list[str], field: str) -> list[ServiceSpecification]:
    found = ServiceSpecification.objects.in_bulk([int(i) for i in ids if str(i).isdigit()])
    for index, raw in enumerate(ids):
        if not str(raw).isdigit() or int(raw) not in found:
            raise DomainError(
                f"Service specification '{raw}' does not exist.", field=f"{field}[{index}].id"
            )
    return [found[int(i)] for i in ids]


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
    if ProductSpecification.objects.filter(name=name).exists():
        raise DomainError(f"A product specification named '{name}' exists.", field="name")
    services = _service_specifications(service_specification_ids or [], "serviceSpecification")
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
    name = changes.get("name")
    if (
        name
        and ProductSpecification.objects.filter(name=name).exclude(pk=specification.pk).exists()
    ):
        raise DomainError(f"A product specification named '{name}' exists.", field="name")
    if service_ids is not None:
        services = _service_specifications(service_ids, "serviceSpecification")
        specification.service_specifications.set(services)
    if characteristics is not None:
        _characteristics_replace(specification=specification, characteristics=characteristics)
    for field, value in changes.items():
        setattr(specification, field, value)
    specification.last_update = timezone.now()
    specification.save()
    return specification


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


def _check_validity(valid_from, valid_to, field: str) -> None:
    if valid_from and valid_to and valid_to <= valid_from:
        raise DomainError("The end must be after the start.", field=f"{field}.endDateTime")


@transaction.atomic
def offering_create(
    *,
    name: str,
    product_specification: ProductSpecification,
    description: str = "",
    category: str = "",
    is_sellable: bool = True,
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> ProductOffering:
    """Create an offering, in design: it is launched with `offering_update`."""
    if ProductOffering.objects.filter(name=name).exists():
        raise DomainError(f"A product offering named '{name}' exists.", field="name")
    _check_validity(valid_from, valid_to, "validFor")
    now = timezone.now()
    return ProductOffering.objects.create(
        name=name,
        product_specification=product_specification,
        description=description,
        category=category,
        is_sellable=is_sellable,
        valid_from=valid_from or now,
        valid_to=valid_to,
        lifecycle_status=LifecycleStatus.IN_DESIGN,
        last_update=now,
    )


@transaction.atomic
def offering_update(*, offering: ProductOffering, changes: dict, by: str = "") -> ProductOffering:
    """Apply a merge patch; a `lifecycle_status` change goes through the lifecycle table."""
    changes = dict(changes)
    target = changes.pop("lifecycle_status", None)
    name = changes.get("name")
    if name and ProductOffering.objects.filter(name=name).exclude(pk=offering.pk).exists():
        raise DomainError(f"A product offering named '{name}' exists.", field="name")
    _check_validity(
        changes.get("valid_from", offering.valid_from),
        changes.get("valid_to", offering.valid_to),
        "validFor",
    )
    if target is not None and target != offering.lifecycle_status:
        offering = transition(
            offering,
            target,
            transitions=LIFECYCLE_TRANSITIONS,
            history=ProductOfferingLifecycleChange,
            history_fk="offering",
            field="lifecycle_status",
            by=by,
        )
    if changes:
        for field, value in changes.items():
            setattr(offering, field, value)
        offering.last_update = timezone.now()
        offering.save(update_fields=[*changes, "last_update"])
    return offering


@transaction.atomic
def offering_delete(*, offering: ProductOffering) -> None:
    """Delete an offering and its prices; refused (409) once anything was ordered from it."""
    if offering_in_use(offering=offering):
        raise Conflict(f"Product offering '{offering.name}' is in use and cannot be deleted.")
    offering.delete()


# --- prices -----------------------------------------------------------------------------------


def _check_price(price: ProductOfferingPrice) -> None:
    if price.amount is None or price.amount < 0:
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
    _check_validity(price.valid_from, price.valid_to, "validFor")


@transaction.atomic
def price_create(
    *,
    product_offering: ProductOffering,
    name: str,
    price_type: str,
    amount: Decimal,
    currency: str,
    recurring_period: str = "",
    rating_group: str = "",
    unit_of_measure: str = "",
    included_allowance: Decimal = Decimal(0),
    valid_from: datetime | None = None,
    valid_to: datetime | None = None,
) -> ProductOfferingPrice:
    """Add a price to an offering (one-time, recurring per period, or usage per rating group)."""
    now = timezone.now()
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
        valid_from=valid_from or now,
        valid_to=valid_to,
        last_update=now,
    )
    _check_price(price)
    price.save()
    ProductOffering.objects.filter(pk=product_offering.pk).update(last_update=now)
    return price


# Changing these on a price already sold would rewrite what customers agreed to: end the price's
# validity and add a new one instead.
PRICE_TERMS = {"amount", "currency", "price_type", "recurring_period", "rating_group"}


@transaction.atomic
def price_update(*, price: ProductOfferingPrice, changes: dict) -> ProductOfferingPrice:
    """Apply a merge patch to a price; its terms are frozen once the offering is in use."""
    changed_terms = sorted(
        field for field in PRICE_TERMS & set(changes) if changes[field] != getattr(price, field)
    )
    if changed_terms and offering_in_use(offering=price.product_offering):
        raise Conflict(
            "The offering is in use: end this price's validFor and add a new price instead."
        )
    for field, value in changes.items():
        setattr(price, field, value)
    _check_price(price)
    price.last_update = timezone.now()
    price.save()
    return price


@transaction.atomic
def price_delete(*, price: ProductOfferingPrice) -> None:
    """Delete a price; refused (409) once its offering is in use."""
    if offering_in_use(offering=price.product_offering):
        raise Conflict(
            f"Product offering '{price.product_offering.name}' is in use: end this price's "
            "validFor instead of deleting it."
        )
    price.delete()
