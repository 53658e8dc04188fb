from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog import selectors, services
from catalog.choices import LIFECYCLE_TRANSITIONS, LifecycleStatus, PriceType, ValueType
from catalog.models import ProductOfferingPrice
from catalog.tests.factories import (
    CharacteristicSpecificationFactory,
    ProductOfferingFactory,
    ProductOfferingPriceFactory,
    five_g_premium_offering,
)
from telco.exceptions import DomainError, InvalidTransition, NotFound

pytestmark = pytest.mark.django_db


def test_characteristics_validate_fills_defaults_and_normalises():
    offering = five_g_premium_offering()
    specification = offering.product_specification
    CharacteristicSpecificationFactory(
        product_specification=specification, name="staticIp", value_type=ValueType.BOOLEAN
    )
    CharacteristicSpecificationFactory(
        product_specification=specification, name="dataCapGb", value_type=ValueType.NUMBER
    )
    assert services.characteristics_validate(
        product_specification=specification, values={"bandwidth": "1Gbps", "dataCapGb": "50"}
    ) == {"bandwidth": "1Gbps", "dataCapGb": "50"}
    assert services.characteristics_validate(
        product_specification=specification, values={"staticIp": "true"}
    ) == {"bandwidth": "500Mbps", "staticIp": "true"}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"colour": "red"}, "colour", "'colour' is not a characteristic of '5G Connectivity'."),
        (
            {"bandwidth": "10Gbps"},
            "bandwidth",
            "'10Gbps' is not one of the allowed values: 100Mbps, 500Mbps, 1Gbps.",
        ),
        ({"dataCapGb": "lots"}, "dataCapGb", "'lots' is not a number."),
        ({"staticIp": "yes"}, "staticIp", "'yes' is not true or false."),
        ({"staticIp": "true"}, "contractId", "A value is required."),
    ],
)
def test_characteristics_validate_refuses(values, field, message):
    specification = five_g_premium_offering().product_specification
    CharacteristicSpecificationFactory(
        product_specification=specification, name="staticIp", value_type=ValueType.BOOLEAN
    )
    CharacteristicSpecificationFactory(
        product_specification=specification, name="dataCapGb", value_type=ValueType.NUMBER
    )
    if field == "contractId":
        CharacteristicSpecificationFactory(
            product_specification=specification, name="contractId", is_required=True
        )
    with pytest.raises(DomainError) as error:
        services.characteristics_validate(product_specification=specification, values=values)
    assert (error.value.field, error.value.message) == (field, message)


def test_offering_prices_in_force_is_half_open():
    offering = ProductOfferingFactory()
    old = ProductOfferingPriceFactory(
        product_offering=offering,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        valid_to=datetime(2026, 6, 1, tzinfo=UTC),
    )
    new = ProductOfferingPriceFactory(
        product_offering=offering, valid_from=datetime(2026, 6, 1, tzinfo=UTC)
    )
    ProductOfferingPriceFactory(valid_from=datetime(2026, 1, 1, tzinfo=UTC))  # other offering

    def at(*args):
        return selectors.offering_prices_in_force(offering=offering, at=datetime(*args, tzinfo=UTC))

    assert at(2025, 12, 31) == []
    assert at(2026, 5, 31, 23, 59) == [old]
    assert at(2026, 6, 1) == [new]


def test_offering_get():
    offering = ProductOfferingFactory()
    assert selectors.offering_get(offering_id=str(offering.pk)) == offering
    with pytest.raises(NotFound):
        selectors.offering_get(offering_id=offering.pk + 1)
    with pytest.raises(NotFound):
        selectors.offering_get(offering_id="abc")


def test_five_g_premium_catalog():
    offering = five_g_premium_offering()
    assert offering.lifecycle_status == LifecycleStatus.LAUNCHED
    prices = {
        (p.price_type, p.amount, p.currency, p.recurring_period, p.rating_group)
        for p in offering.prices.all()
    }
    assert prices == {
        (PriceType.ONE_TIME, Decimal("49.0000"), "EUR", "", ""),
        (PriceType.RECURRING, Decimal("30.0000"), "EUR", "month", ""),
        (PriceType.USAGE, Decimal("2.0000"), "EUR", "", "DATA_5G_PREMIUM"),
    }
    usage = offering.prices.get(price_type=PriceType.USAGE)
    assert (usage.unit_of_measure, usage.included_allowance) == ("GB", Decimal("5.0000"))
    service_spec = offering.product_specification.service_specifications.get()
    assert service_spec.name == "5G Slice Service"
    kinds = sorted(service_spec.resource_specifications.values_list("resource_kind", flat=True))
    assert kinds == ["gnb", "slice"]
    # A second offering reuses the network specifications.
    five_g_premium_offering(name="5G Premium Plus")
    assert service_spec.resource_specifications.count() == 2


ALL_MOVES = [(a, b) for a in LifecycleStatus.values for b in LifecycleStatus.values if a != b]


@pytest.mark.parametrize(("current", "target"), ALL_MOVES)
def test_offering_lifecycle_table(current, target):
    offering = ProductOfferingFactory(lifecycle_status=current)
    if target in LIFECYCLE_TRANSITIONS[current]:
        services.offering_update(offering=offering, changes={"lifecycle_status": target}, by="a")
        offering.refresh_from_db()
        assert offering.lifecycle_status == target
        change = offering.history.get()
        assert (change.from_state, change.to_state, change.changed_by) == (current, target, "a")
    else:
        with pytest.raises(InvalidTransition):
            services.offering_update(offering=offering, changes={"lifecycle_status": target})
        offering.refresh_from_db()
        assert offering.lifecycle_status == current
        assert not offering.history.exists()


def test_price_rules():
    offering = ProductOfferingFactory()
    with pytest.raises(DomainError) as error:
        services.price_create(
            product_offering=offering,
            name="Data",
            price_type=PriceType.USAGE,
            amount=Decimal(2),
            currency="EUR",
            unit_of_measure="GB",
        )
    assert error.value.field == "ratingGroup"
    with pytest.raises(DomainError) as error:
        services.price_create(
            product_offering=offering,
            name="Monthly",
            price_type=PriceType.RECURRING,
            amount=Decimal(2),
            currency="EUR",
        )
    assert error.value.field == "recurringChargePeriodType"
    assert not ProductOfferingPrice.objects.exists()
