"""Product offering prices (TMF620 ProductOfferingPrice): one-time, recurring, usage (with
tiers and allowances) and discounts; their terms are frozen once the offering is in use."""

from datetime import datetime
from decimal import Decimal

from django.db import transaction

from catalog.choices import LIFECYCLE_TRANSITIONS, LifecycleStatus, PriceType
from catalog.models import (
    PriceTier,
    ProductOffering,
    ProductOfferingPrice,
    ProductOfferingPriceLifecycleChange,
)
from catalog.services.common import check_validity
from catalog.services.offerings import offering_in_use
from telco import clock
from telco.exceptions import Conflict, DomainError
from telco.money import DEFAULT_CURRENCY
from telco.states import transition


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
    check_validity(price.valid_from, price.valid_to)


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
