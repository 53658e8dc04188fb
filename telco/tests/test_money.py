"""Money rounding: half-even, to each currency's minor unit, whatever currency came before."""

from decimal import Decimal

from telco.money import round_money


def test_round_money_is_half_even_to_each_currencys_minor_unit():
    # In turn, so a minor unit remembered for one currency is never used for another.
    cases = [
        ("2.345", "EUR", "2.34"),
        ("2.355", "EUR", "2.36"),
        ("2.5", "JPY", "2"),
        ("3.5", "JPY", "4"),
        ("1.0005", "KWD", "1.000"),
        ("1.0015", "KWD", "1.002"),
        ("-2.345", "USD", "-2.34"),
        ("0.125", "EUR", "0.12"),
        ("7.5", "JPY", "8"),
    ]
    for amount, currency, rounded in cases:
        result = round_money(Decimal(amount), currency)
        assert str(result) == rounded, (amount, currency)
