"""Recurring, one-time and discount charges of a product in one bill period, as charge lines
(rated to 4 places; the bill rounds them)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.db.models import Model

from billing.choices import ChargeType
from billing.services.periods import contract_years, periods_since_start
from billing.services.usage import RATED_VOLUME_PLACES
from catalog.choices import COUNTED_UNITS, RecurringPeriod
from telco.exceptions import DomainError
from telco.money import plain_decimal, round_rating


@dataclass
class ChargeLine:
    """One charge a bill will carry, rated but not yet rounded to the currency."""

    product: Model  # inventory's ProductInstance
    charge_type: str
    name: str
    description: str
    quantity: Decimal
    unit: str
    currency: str
    amount: Decimal  # rated, 4 places, before the line's rounding
    charge_key: str
    date: datetime
    usage_ids: tuple[int, ...] = ()
    # What the line covers, when not the bill's period (a year charged ahead, late usage).
    coverage: tuple[datetime, datetime] | None = None


def units_charged(product: Model, price: Model) -> int:
    """How many times the recurring price applies to the product: once, or once per unit it
    holds when the price is per a counted unit (`COUNTED_UNITS`). A product that names none
    of them cannot be billed (finance sees why), rather than be charged for none."""
    units = price.units_in(product.characteristics)
    if not units:
        raise DomainError(
            f"Price '{price.name}' is per {price.unit_of_measure}, but product "
            f"{product.pk} names no {COUNTED_UNITS[price.unit_of_measure]}."
        )
    return units


def _per_units(units: int, unit: str) -> str:
    return f"{units} x {unit}, " if unit in COUNTED_UNITS else ""


def recurring_lines(
    *,
    product: Model,
    price: Model,
    interval: tuple[datetime, datetime],
    charged_seconds: Decimal,
    start: datetime,
    period_seconds: Decimal,
) -> list[ChargeLine]:
    """A recurring price's charges in the bill period from `start`, times the units the
    product holds when the price is per unit (`units_charged`).

    Monthly: the price x the part of the cycle period (`period_seconds`, a whole period on the
    cycle day even when the bill's is a short transition) the product was billable and not
    suspended.
    Yearly: the whole price, once a year in advance, on the bill of the period that contains
    the start of the contract year (the product's start, then each anniversary of it). Years
    run from the product's start, so none is partial at the start, as a monthly charge is only
    because periods start on the cycle day; a termination or suspension later in the year does
    not reduce a year already charged.
    """
    units = units_charged(product, price)
    per_units = _per_units(units, price.unit_of_measure)
    if price.recurring_period == RecurringPeriod.YEAR:
        return [
            ChargeLine(
                product=product,
                charge_type=ChargeType.RECURRING,
                name=price.name,
                description=(
                    f"{product.name}: {per_units}year from {year:%Y-%m-%d} to {year_end:%Y-%m-%d}"
                ),
                quantity=Decimal(units),
                unit=price.recurring_period,
                currency=price.currency,
                amount=round_rating(price.amount * units),
                charge_key=f"recurring:{product.id}:{price.id}:{year:%Y%m%d}",
                date=year,
                coverage=(year, year_end),
            )
            for year, year_end in contract_years(product, *interval)
        ]
    if charged_seconds <= 0:
        return []  # suspended for the whole billable part of the period
    quantity, amount, share = _monthly_share(price.amount, units, charged_seconds, period_seconds)
    return [
        ChargeLine(
            product=product,
            charge_type=ChargeType.RECURRING,
            name=price.name,
            description=f"{product.name}: {per_units}{share}",
            quantity=quantity,
            unit=price.recurring_period,
            currency=price.currency,
            amount=amount,
            charge_key=f"recurring:{product.id}:{price.id}:{start:%Y%m%d}",
            date=interval[0],
        )
    ]


@lru_cache(maxsize=4096)
def _monthly_share(
    amount: Decimal, units: int, charged_seconds: Decimal, period_seconds: Decimal
) -> tuple[Decimal, Decimal, str]:
    """A monthly price's quantity, amount and "N of M days" for the part of the period charged.
    Cached: a bill run charges thousands of products the same share of the same few prices."""
    days = charged_seconds / Decimal(86400)
    return (
        (units * charged_seconds / period_seconds).quantize(RATED_VOLUME_PLACES),
        round_rating(amount * units * charged_seconds / period_seconds),
        f"{plain_decimal(days)} of {plain_decimal(period_seconds / 86400)} days",
    )


def one_time_line(*, product: Model, price: Model) -> ChargeLine:
    """A one-time price, charged once on the bill of the period the product started in."""
    return ChargeLine(
        product=product,
        charge_type=ChargeType.ONE_TIME,
        name=price.name,
        description=product.name,
        quantity=Decimal(1),
        unit="",
        currency=price.currency,
        amount=round_rating(price.amount),
        charge_key=f"oneTime:{product.id}:{price.id}",
        date=product.start_date,
    )


def discount_line(
    *,
    bill_cycle_day: int,
    product: Model,
    price: Model,
    recurring: list[ChargeLine],
    fraction: Decimal,
    start: datetime,
) -> ChargeLine | None:
    """The reduction of the product's recurring charges of this period by a discount price.

    A percentage takes that share of the recurring charges; a fixed amount is per billing
    period, prorated like a monthly charge by the part of the period the product was charged
    for (`fraction`), and never more than the recurring charges it reduces. It applies for
    `applies_for_periods` billing periods counted from the one the product started in.
    """
    period = periods_since_start(bill_cycle_day=bill_cycle_day, product=product, start=start)
    if price.applies_for_periods is not None and period > price.applies_for_periods:
        return None
    base = sum((line.amount for line in recurring), Decimal(0))
    if base <= 0:
        return None
    if price.percentage is not None:
        reduction = round_rating(base * price.percentage / 100)
        how = f"{plain_decimal(price.percentage)}% of {plain_decimal(base)}"
    else:
        reduction = min(round_rating(price.amount * fraction), base)
        how = f"{plain_decimal(reduction)} off {plain_decimal(base)}"
    if price.applies_for_periods is not None:
        how += f", period {period} of {price.applies_for_periods}"
    return ChargeLine(
        product=product,
        charge_type=ChargeType.RECURRING,
        name=price.name,
        description=f"{product.name}: {how}",
        quantity=Decimal(1),
        unit="",
        currency=price.currency,
        amount=-reduction,
        charge_key=f"discount:{product.id}:{price.id}:{start:%Y%m%d}",
        date=recurring[0].date,
    )
