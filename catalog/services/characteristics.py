"""Product characteristics: checking the values chosen for a product against its
specification (ordering runs this), and a value against a characteristic's type and range."""

from decimal import Decimal, InvalidOperation

from catalog.choices import ValueType
from catalog.models import ProductSpecification
from telco.exceptions import DomainError
from telco.money import plain_decimal

BOOLEAN_VALUES = {"true", "false"}


def check_value_type(characteristic, value: str) -> None:
    """`value` parses as the characteristic's type (number, true or false); errors name it."""
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
        check_value_type(characteristic, value)
        check_range(characteristic, value)
        result[name] = value
    return result


def check_range(characteristic, value: str) -> None:
    """A number `value` lies within the characteristic's range (`min_value` to `max_value`)."""
    if characteristic.value_type != ValueType.NUMBER:
        return
    low, high = characteristic.min_value, characteristic.max_value
    number = Decimal(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"{plain_decimal(low) if low is not None else '...'} to "
        bounds += plain_decimal(high) if high is not None else "..."
        raise DomainError(f"'{value}' is outside the range {bounds}.", field=characteristic.name)
