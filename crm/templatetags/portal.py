"""Template filters for the operator pages: money and state badges."""

from decimal import Decimal

from django import template

from telco.money import DEFAULT_CURRENCY, round_money

register = template.Library()

# State values (of any entity) by the colour family they show in: good, in flight, bad.
GOOD_STATES = {"active", "completed", "settled", "approved", "validated", "enable", "cleared"}
PENDING_STATES = {
    "acknowledged",
    "inProgress",
    "pending",
    "pendingActive",
    "created",
    "reserved",
    "designed",
    "feasibilityChecked",
    "new",
    "sent",
    "partiallyPaid",
    "held",
    "initialized",
}
BAD_STATES = {
    "failed",
    "aborted",
    "rejected",
    "cancelled",
    "terminated",
    "suspended",
    "onHold",
    "closed",
    "inactive",
    "disable",
    "raised",
    "updated",
}


@register.filter
def money(amount, currency: str = "") -> str:
    """An amount rounded to its currency's minor unit, with thousands separators and the code."""
    if amount is None or amount == "":
        return ""
    rounded = round_money(Decimal(amount), currency or DEFAULT_CURRENCY)
    return f"{rounded:,} {currency}".strip()


@register.filter
def state_class(state: str) -> str:
    """The badge CSS class for a state value."""
    if state in GOOD_STATES:
        return "badge-ok"
    if state in PENDING_STATES:
        return "badge-info"
    if state in BAD_STATES:
        return "badge-bad"
    return ""


def _plain(number: Decimal) -> str:
    """A decimal without trailing zeros or exponent: 20.000000 -> "20", 5.500 -> "5.5"."""
    text = f"{Decimal(number):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


@register.filter
def quantity(number) -> str:
    """A quantity as written by a person: no trailing zeros."""
    return "" if number is None else _plain(number)


@register.filter
def percent(rate) -> str:
    """A rate (0.2) as a percentage ("20%")."""
    return "" if rate is None else f"{_plain(Decimal(rate) * 100)}%"


@register.filter(name="sorted")
def sorted_filter(values) -> list:
    """The values in order (role names come as a set)."""
    return sorted(values or ())


@register.filter
def get_item(mapping, key: str):
    """`mapping[key]` for keys a template cannot spell, such as TMF's "@referredType"."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.filter
def iso_minutes(value: str) -> str:
    """An ISO 8601 timestamp string (as notes keep them) shown to the minute: "2026-11-24 13:05"."""
    return value[:16].replace("T", " ") if value else ""
