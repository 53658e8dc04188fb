"""Money: Decimal amounts with an ISO 4217 currency, rounded once, half-even, per currency."""

from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

from django.db import models

# Minor-unit exponent per currency; anything not listed uses two decimals.
CURRENCY_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3}
DEFAULT_CURRENCY = "EUR"
RATING_PLACES = Decimal("0.0001")


def money_field(**kwargs) -> models.DecimalField:
    """The one column type for an amount of money (4 places: rating precision)."""
    return models.DecimalField(max_digits=18, decimal_places=4, **kwargs)


def currency_field(**kwargs) -> models.CharField:
    kwargs.setdefault("default", DEFAULT_CURRENCY)
    return models.CharField(max_length=3, **kwargs)


def round_rating(amount: Decimal) -> Decimal:
    """Round an intermediate (rated) amount to the 4 places rating keeps."""
    return Decimal(amount).quantize(RATING_PLACES, rounding=ROUND_HALF_EVEN)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round an amount to its currency's minor unit, half-even: done once, at the bill line."""
    return Decimal(amount).quantize(_minor_unit(currency), rounding=ROUND_HALF_EVEN)


@cache
def _minor_unit(currency: str) -> Decimal:
    """The currency's minor unit (0.01), made once: a bill run rounds hundreds of thousands."""
    return Decimal(1).scaleb(-CURRENCY_EXPONENTS.get(currency, 2))


def plain_decimal(number: Decimal) -> str:
    """A Decimal as written in messages and descriptions: 12.5000 -> '12.5', 1E+2 -> '100'."""
    return format(number.normalize(), "f")


def as_tmf_money(amount: Decimal | None, currency: str) -> dict | None:
    """The TM Forum Money representation: {"unit": "EUR", "value": 12.5}."""
    if amount is None:
        return None
    return {"unit": currency, "value": float(amount.normalize()) if amount else 0.0}
