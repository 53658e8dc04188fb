"""Yearly prices, usage tiers and discounts: the service rules, the database and TMF620 API."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from catalog import selectors
from catalog.models import PriceTier, ProductOfferingPrice
from catalog.tests.factories import (
    PriceTierFactory,
    ProductOfferingFactory,
    ProductOfferingPriceFactory,
    five_g_premium_offering,
)
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productCatalogManagement/v4"

TIERS = [
    {"lowerBound": 0, "upperBound": 10, "price": {"unit": "EUR", "value": 2}},
    {"lowerBound": 10, "upperBound": 50, "price": {"unit": "EUR", "value": 1.5}},
    {"lowerBound": 50, "price": {"unit": "EUR", "value": 1}},
]


def post_price(client, offering, **body):
    return client.post(
        f"{BASE}/productOfferingPrice",
        {"name": "P", **body, "productOffering": {"id": str(offering.pk)}},
        format="json",
    )


def usage_body(**extra):
    return {
        "priceType": "usage",
        "unitOfMeasure": {"amount": 1, "units": "GB"},
        "ratingGroup": "DATA",
        "includedAllowance": {"amount": 5, "units": "GB"},
        **extra,
    }


def test_yearly_recurring_price(admin_api):
    offering = ProductOfferingFactory()
    response = post_price(
        admin_api,
        offering,
        priceType="recurring",
        recurringChargePeriodType="year",
        price={"unit": "EUR", "value": 300},
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["recurringChargePeriodType"], response.json()["price"]) == (
        "year",
        {"unit": "EUR", "value": 300.0},
    )
    assert offering.prices.get().recurring_period == "year"
    listing = admin_api.get(f"{BASE}/productOfferingPrice?recurringChargePeriodType=year")
    assert [p["id"] for p in listing.json()] == [response.json()["id"]]


def test_tiered_usage_price(admin_api):
    offering = ProductOfferingFactory()
    response = post_price(admin_api, offering, **usage_body(priceTier=TIERS))
    assert response.status_code == 201, response.json()
    price = offering.prices.get()
    assert price.amount == 0  # the tiers replace the flat price
    assert list(price.tiers.values_list("lower_bound", "upper_bound", "unit_amount")) == [
        (Decimal("0"), Decimal("10"), Decimal("2")),
        (Decimal("10"), Decimal("50"), Decimal("1.5")),
        (Decimal("50"), None, Decimal("1")),
    ]
    assert response.json()["priceTier"] == [
        {
            "lowerBound": 0,
            "upperBound": 10,
            "price": {"unit": "EUR", "value": 2.0},
            "unitOfMeasure": {"amount": 1, "units": "GB"},
        },
        {
            "lowerBound": 10,
            "upperBound": 50,
            "price": {"unit": "EUR", "value": 1.5},
            "unitOfMeasure": {"amount": 1, "units": "GB"},
        },
        {
            "lowerBound": 50,
            "upperBound": None,
            "price": {"unit": "EUR", "value": 1.0},
            "unitOfMeasure": {"amount": 1, "units": "GB"},
        },
    ]
    # PATCH replaces the whole list while the offering is unsold.
    response = admin_api.patch(
        f"{BASE}/productOfferingPrice/{price.pk}",
        {"priceTier": [{"lowerBound": 0, "price": {"unit": "EUR", "value": 0.5}}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert list(price.tiers.values_list("lower_bound", "upper_bound", "unit_amount")) == [
        (Decimal("0"), None, Decimal("0.5"))
    ]


BAD_TIERS = [
    ([{"lowerBound": 1, "price": {"unit": "EUR", "value": 1}}], "priceTier[0].lowerBound"),
    (
        [
            {"lowerBound": 0, "upperBound": 10, "price": {"unit": "EUR", "value": 2}},
            {"lowerBound": 12, "price": {"unit": "EUR", "value": 1}},
        ],
        "priceTier[1].lowerBound",
    ),
    (
        [
            {"lowerBound": 0, "upperBound": 10, "price": {"unit": "EUR", "value": 2}},
            {"lowerBound": 5, "price": {"unit": "EUR", "value": 1}},
        ],
        "priceTier[1].lowerBound",
    ),
    (
        [
            {"lowerBound": 0, "price": {"unit": "EUR", "value": 2}},
            {"lowerBound": 10, "price": {"unit": "EUR", "value": 1}},
        ],
        "priceTier[0].upperBound",
    ),
    (
        [{"lowerBound": 0, "upperBound": 0, "price": {"unit": "EUR", "value": 2}}],
        "priceTier[0].upperBound",
    ),
    ([{"lowerBound": 0, "price": {"unit": "EUR", "value": -2}}], "priceTier[0].price.value"),
    ([{"upperBound": 3, "price": {"unit": "EUR", "value": 2}}], "priceTier[0].lowerBound"),
    ([{"lowerBound": 0, "price": {"unit": "USD", "value": 2}}], "priceTier[0].price.unit"),
]


def test_bad_tiers_write_nothing(admin_api):
    offering = ProductOfferingFactory()
    for tiers, field in BAD_TIERS:
        response = post_price(admin_api, offering, **usage_body(priceTier=tiers))
        assert response.status_code == 400, field
        assert list(response.json()["errors"]) == [field], response.json()
    assert not ProductOfferingPrice.objects.exists()
    assert not PriceTier.objects.exists()


def test_tiers_only_on_a_usage_price(admin_api):
    offering = ProductOfferingFactory()
    response = post_price(
        admin_api,
        offering,
        priceType="oneTime",
        price={"unit": "EUR", "value": 5},
        priceTier=TIERS,
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["priceTier"]
    assert not ProductOfferingPrice.objects.exists()


def test_percentage_discount_for_three_periods(admin_api, agent_api):
    offering = ProductOfferingFactory()
    response = post_price(
        admin_api,
        offering,
        name="Welcome",
        priceType="discount",
        percentage=20,
        applicationDuration={"amount": 3, "units": "billingPeriod"},
    )
    assert response.status_code == 201, response.json()
    price = offering.prices.get()
    assert (price.price_type, price.percentage, price.amount, price.applies_for_periods) == (
        "discount",
        Decimal("20"),
        Decimal("0"),
        3,
    )
    body = agent_api.get(f"{BASE}/productOfferingPrice/{price.pk}").json()
    assert (body["priceType"], body["percentage"], body["applicationDuration"]) == (
        "discount",
        20,
        {"amount": 3, "units": "billingPeriod"},
    )
    assert body["price"] == {"unit": "EUR", "value": 0.0}


def test_fixed_discount_for_ever(admin_api):
    offering = ProductOfferingFactory()
    response = post_price(
        admin_api, offering, priceType="discount", price={"unit": "EUR", "value": 10}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["percentage"], body["applicationDuration"], body["price"]) == (
        None,
        None,
        {"unit": "EUR", "value": 10.0},
    )


BAD_DISCOUNTS = [
    # Without a value a discount may be designed, not launched (test_tmf_conformance.py).
    ({"priceType": "discount", "lifecycleStatus": "launched"}, "percentage"),
    (
        {"priceType": "discount", "percentage": 10, "price": {"unit": "EUR", "value": 5}},
        "percentage",
    ),
    ({"priceType": "discount", "percentage": 0}, "percentage"),
    ({"priceType": "discount", "percentage": 100.5}, "percentage"),
    (
        {"priceType": "oneTime", "price": {"unit": "EUR", "value": 5}, "percentage": 10},
        "percentage",
    ),
    (
        {
            "priceType": "oneTime",
            "price": {"unit": "EUR", "value": 5},
            "applicationDuration": {"amount": 2},
        },
        "applicationDuration",
    ),
    (
        {"priceType": "discount", "percentage": 10, "applicationDuration": {"amount": 0}},
        "applicationDuration.amount",
    ),
    (
        {
            "priceType": "discount",
            "percentage": 10,
            "applicationDuration": {"amount": 2, "units": "fortnight"},
        },
        "applicationDuration.units",
    ),
    (
        {"priceType": "discount", "percentage": 10, "recurringChargePeriodType": "month"},
        "recurringChargePeriodType",
    ),
]


def test_bad_discount_writes_nothing(admin_api):
    offering = ProductOfferingFactory()
    for body, field in BAD_DISCOUNTS:
        response = post_price(admin_api, offering, **body)
        assert response.status_code == 400, body
        assert list(response.json()["errors"]) == [field], body
    assert not ProductOfferingPrice.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"price_type": "discount", "amount": Decimal("0"), "percentage": None},
        {"price_type": "discount", "amount": Decimal("5"), "percentage": Decimal("10")},
        {"price_type": "discount", "amount": Decimal("0"), "percentage": Decimal("150")},
        {"price_type": "oneTime", "amount": Decimal("5"), "percentage": Decimal("10")},
        {"price_type": "discount", "amount": Decimal("5"), "applies_for_periods": 0},
    ],
)
def test_the_database_refuses_a_bad_discount(fields):
    offering = ProductOfferingFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductOfferingPrice.objects.create(
            product_offering=offering, name="Bad", recurring_period="", **fields
        )


def test_the_database_refuses_a_bad_tier():
    price = PriceTierFactory(upper_bound=Decimal("10")).price
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceTier.objects.create(
            price=price, lower_bound=Decimal("5"), upper_bound=Decimal("5"), unit_amount=1
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        PriceTier.objects.create(price=price, lower_bound=Decimal("0"), unit_amount=1)


def test_sold_prices_keep_their_tiers_and_discount_terms(admin_api):
    offering = five_g_premium_offering()
    usage = offering.prices.get(price_type="usage")
    PriceTier.objects.create(price=usage, lower_bound=0, unit_amount=Decimal("2"))
    discount = ProductOfferingPriceFactory(
        product_offering=offering,
        price_type="discount",
        recurring_period="",
        amount=0,
        percentage=Decimal("20"),
        applies_for_periods=3,
    )
    account = BillingAccountFactory()
    ProductInstance.objects.create(
        customer=account.customer, billing_account=account, product_offering=offering, name="x"
    )
    for price, body in (
        (usage, {"priceTier": [{"lowerBound": 0, "price": {"unit": "EUR", "value": 1}}]}),
        (discount, {"percentage": 50}),
        (discount, {"applicationDuration": {"amount": 12}}),
    ):
        response = admin_api.patch(f"{BASE}/productOfferingPrice/{price.pk}", body, format="json")
        assert response.status_code == 409, body
    assert list(usage.tiers.values_list("unit_amount", flat=True)) == [Decimal("2")]
    discount.refresh_from_db()
    assert (discount.percentage, discount.applies_for_periods) == (Decimal("20"), 3)
    # Naming the same tiers again is not a change.
    response = admin_api.patch(
        f"{BASE}/productOfferingPrice/{usage.pk}",
        {"priceTier": [{"lowerBound": 0, "price": {"unit": "EUR", "value": 2}}], "name": "Data"},
        format="json",
    )
    assert response.status_code == 200, response.json()


def test_prices_in_force_come_with_their_tiers_in_order():
    offering = five_g_premium_offering()
    usage = offering.prices.get(price_type="usage")
    PriceTier.objects.create(price=usage, lower_bound=10, unit_amount=Decimal("1"))
    PriceTier.objects.create(price=usage, lower_bound=0, upper_bound=10, unit_amount=Decimal("2"))
    at = datetime(2026, 6, 1, tzinfo=UTC)
    prices = selectors.offering_prices_in_force(offering=offering, at=at)
    with CaptureQueriesContext(connection) as context:
        tiers = {p.name: [t.lower_bound for t in p.tiers.all()] for p in prices}
    assert len(context.captured_queries) == 0
    assert tiers == {
        "Activation fee": [],
        "Monthly fee": [],
        "Data usage": [Decimal("0"), Decimal("10")],
    }


def test_price_list_query_count_does_not_grow_with_tiers(agent_api):
    def count():
        with CaptureQueriesContext(connection) as context:
            response = agent_api.get(f"{BASE}/productOfferingPrice")
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json())

    PriceTierFactory()
    few, few_rows = count()
    for _ in range(5):
        tier = PriceTierFactory(upper_bound=Decimal("10"))
        PriceTierFactory(price=tier.price, lower_bound=Decimal("10"))
    many, many_rows = count()
    assert (few_rows, many_rows) == (1, 6)
    assert few == many
