"""Usage rating: the charge for a period's usage of one rating group (allowance, flat or
tiered price), and late usage re-rated against the period it belongs to."""

import logging
from datetime import datetime
from decimal import Decimal

from django.db.models import Model, Sum

from billing.choices import ChargeType, UsageStatus
from billing.models import UsageEvent
from billing.services.charges import ChargeLine
from billing.services.usage import usage_price
from telco.money import plain_decimal, round_rating

logger = logging.getLogger(__name__)


def _tiers_of(price: Model) -> list[Model]:
    """The price's tiers, listed once per price object: a bill run rates thousands of usage
    lines against the same few prices, and each `price.tiers.all()` builds a new manager and
    queryset even when the tiers are prefetched."""
    tiers = price.__dict__.get("_rating_tiers")
    if tiers is None:
        tiers = price.__dict__["_rating_tiers"] = list(price.tiers.all())
    return tiers


def usage_amount(price: Model, beyond: Decimal) -> tuple[Decimal, str]:
    """What `beyond` units past the allowance cost, unrounded, and how it was rated.

    Without tiers: `beyond` x the price's amount. With tiers (they replace the flat amount):
    the quantity within each tier's [lower, upper) at its unit amount; the last tier takes
    everything above its lower bound, even if it names an upper bound.
    """
    tiers = _tiers_of(price)
    if not tiers:
        return beyond * price.amount, ""
    total = Decimal(0)
    parts = []
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        upper = beyond if last or tier.upper_bound is None else min(beyond, tier.upper_bound)
        quantity = upper - tier.lower_bound
        if quantity > 0:
            total += quantity * tier.unit_amount
            parts.append(f"{plain_decimal(quantity)} at {plain_decimal(tier.unit_amount)}")
    return total, f" ({', '.join(parts)})" if parts else ""


def usage_line(
    *,
    product: Model,
    price: Model,
    events: list[tuple[int, Decimal]],
    already_used: Decimal,
    key: str,
    date: datetime,
    coverage: tuple[datetime, datetime] | None = None,
) -> ChargeLine:
    """The charge for `events` of one rating group in one period, on top of `already_used`
    (units of that period already charged on an earlier bill: nonzero for late usage)."""
    used = sum((volume for _, volume in events), Decimal(0))
    allowance = price.included_allowance
    before = max(already_used - allowance, Decimal(0))
    after = max(already_used + used - allowance, Decimal(0))
    amount_after, rated = usage_amount(price, after)
    amount_before, _ = usage_amount(price, before)
    unit = price.unit_of_measure
    if coverage is None:
        name = price.name
        description = (
            f"{product.name}: {plain_decimal(used)} {unit} used, {plain_decimal(allowance)} {unit} "
            f"included, {plain_decimal(after)} {unit} charged{rated}"
        )
    else:
        name = f"{price.name} (late usage)"
        description = (
            f"{product.name}: {plain_decimal(used)} {unit} reported late for "
            f"{coverage[0]:%Y-%m-%d} to {coverage[1]:%Y-%m-%d}, on top of "
            f"{plain_decimal(already_used)} {unit} billed; "
            f"{plain_decimal(allowance)} {unit} included, "
            f"{plain_decimal(after - before)} {unit} more charged"
        )
    return ChargeLine(
        product=product,
        charge_type=ChargeType.USAGE,
        name=name,
        description=description,
        quantity=after - before,
        unit=unit,
        currency=price.currency,
        amount=round_rating(amount_after) - round_rating(amount_before),
        charge_key=key,
        date=date,
        usage_ids=tuple(event_id for event_id, _ in events),
        coverage=coverage,
    )


def late_usage_lines(
    *,
    products: dict[int, Model],
    late: dict[tuple[int, str, datetime, datetime], list[tuple[int, Decimal]]],
    start: datetime,
    end: datetime,
) -> list[ChargeLine]:
    """Usage dated in an earlier period that was billed before it arrived: charged on this bill.

    The earlier period is re-rated with the late volume on top of what its bill charged (so
    the allowance and tiers of that period apply once), at the prices in force then, and only
    the difference is charged. Late usage is rare: one query per late product-period.
    """
    lines = []
    for (product_id, rating_group, period_start, period_end), events in sorted(late.items()):
        product = products[product_id]
        at = max(product.start_date, period_start)
        price = usage_price(product=product, rating_group=rating_group, at=at)
        if price is None:
            logger.warning("Late usage of product %s %s has no price", product_id, rating_group)
            continue
        already_used = UsageEvent.objects.filter(
            product_id=product_id,
            rating_group=rating_group,
            usage_date__gte=period_start,
            usage_date__lt=period_end,
            status=UsageStatus.BILLED,
        ).aggregate(total=Sum("rated_volume"))["total"] or Decimal(0)
        lines.append(
            usage_line(
                product=product,
                price=price,
                events=events,
                already_used=already_used,
                key=(
                    f"usage:{product_id}:{rating_group}:{period_start:%Y%m%d}:late:{start:%Y%m%d}"
                ),
                date=end,
                coverage=(period_start, period_end),
            )
        )
    return lines
