"""TMF620 ProductOfferingPrice as the spec shapes it: only `name` to create, a `lifecycleStatus`.

Our rules keep their meaning where they belong: a price without an offering, a type or a value
can be designed but not launched, and only launched prices are used for ordering and rating.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from catalog import selectors
from catalog.models import ProductOfferingPrice, ProductOfferingPriceLifecycleChange
from catalog.tests.factories import ProductOfferingFactory, ProductOfferingPriceFactory
from crm.tests.factories import BillingAccountFactory
from inventory.models import ProductInstance
from telco import clock

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productCatalogManagement/v4"
PRICES = f"{BASE}/productOfferingPrice"
NOW = datetime(2027, 3, 1, 9, 30, tzinfo=UTC)


def price_row(price_id: str) -> tuple:
    price = ProductOfferingPrice.objects.get(pk=price_id)
    return (
        price.lifecycle_status,
        price.product_offering_id,
        price.price_type,
        price.amount,
        price.history.count(),
    )


def designed_price(admin_api, **body) -> dict:
    response = admin_api.post(PRICES, {"name": "Monthly fee", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_create_accepts_only_a_name_and_starts_in_design(admin_api):
    response = admin_api.post(PRICES, {"name": "Monthly fee"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == body["href"]
    assert (
        body["name"],
        body["lifecycleStatus"],
        body["priceType"],
        body["price"],
        body["productOffering"],
    ) == ("Monthly fee", "inDesign", None, None, None)
    assert price_row(body["id"]) == ("inDesign", None, "", None, 0)


def test_list_filters_by_lifecycle_status(admin_api, agent_api):
    launched = ProductOfferingPriceFactory()
    designed = designed_price(admin_api)

    by_status = {
        status: [p["id"] for p in agent_api.get(f"{PRICES}?lifecycleStatus={status}").json()]
        for status in ("inDesign", "launched", "retired", "inDesign,launched")
    }

    assert by_status == {
        "inDesign": [designed["id"]],
        "launched": [str(launched.pk)],
        "retired": [],
        "inDesign,launched": [str(launched.pk), designed["id"]],
    }


def test_unknown_lifecycle_status_is_refused_naming_it(admin_api):
    response = admin_api.post(PRICES, {"name": "P", "lifecycleStatus": "onSale"}, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["lifecycleStatus"]
    assert not ProductOfferingPrice.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"priceType": "oneTime", "price": {"unit": "EUR", "value": 5}}, "productOffering"),
        ({"priceType": "oneTime", "offering": True}, "price"),
        ({"price": {"unit": "EUR", "value": 5}, "offering": True}, "priceType"),
        ({"priceType": "discount", "offering": True}, "percentage"),
    ],
)
def test_an_incomplete_price_cannot_be_launched(admin_api, body, field):
    body = dict(body)
    if body.pop("offering", False):
        body["productOffering"] = {"id": str(ProductOfferingFactory().pk)}
    price = designed_price(admin_api, **body)
    before = price_row(price["id"])

    response = admin_api.patch(
        f"{PRICES}/{price['id']}", {"lifecycleStatus": "launched"}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert price_row(price["id"]) == before
    assert before[0] == "inDesign"


def test_an_incomplete_price_cannot_be_created_launched(admin_api):
    offering = ProductOfferingFactory()

    response = admin_api.post(
        PRICES,
        {
            "name": "Monthly fee",
            "priceType": "recurring",
            "recurringChargePeriodType": "month",
            "productOffering": {"id": str(offering.pk)},
            "lifecycleStatus": "launched",
        },
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["price"]
    assert not ProductOfferingPrice.objects.exists()
    assert not ProductOfferingPriceLifecycleChange.objects.exists()


def test_a_designed_price_is_completed_then_launched_with_its_history(admin_api):
    offering = ProductOfferingFactory()
    price = designed_price(admin_api)

    completed = admin_api.patch(
        f"{PRICES}/{price['id']}",
        {
            "productOffering": {"id": str(offering.pk)},
            "priceType": "recurring",
            "recurringChargePeriodType": "month",
            "price": {"unit": "EUR", "value": 25},
        },
        format="json",
    )
    assert completed.status_code == 200, completed.json()
    assert completed.json()["lifecycleStatus"] == "inDesign"
    with time_machine.travel(NOW, tick=False):
        launched = admin_api.patch(
            f"{PRICES}/{price['id']}", {"lifecycleStatus": "launched"}, format="json"
        )

    assert launched.status_code == 200, launched.json()
    assert (launched.json()["lifecycleStatus"], launched.json()["price"]) == (
        "launched",
        {"unit": "EUR", "value": 25.0},
    )
    assert price_row(price["id"]) == ("launched", offering.pk, "recurring", Decimal("25"), 1)
    change = ProductOfferingPriceLifecycleChange.objects.get()
    assert (change.from_state, change.to_state, change.changed_by, change.changed_at) == (
        "inDesign",
        "launched",
        "admin1",
        NOW,
    )


def test_a_complete_price_can_be_created_launched(admin_api):
    offering = ProductOfferingFactory()

    price = designed_price(
        admin_api,
        priceType="oneTime",
        price={"unit": "EUR", "value": 49},
        productOffering={"id": str(offering.pk)},
        lifecycleStatus="launched",
    )

    assert price["lifecycleStatus"] == "launched"
    assert price_row(price["id"]) == ("launched", offering.pk, "oneTime", Decimal("49"), 1)


def test_only_launched_prices_are_used_for_ordering_and_rating(admin_api):
    offering = ProductOfferingFactory()
    launched = ProductOfferingPriceFactory(product_offering=offering, name="Launched")
    designed = designed_price(
        admin_api,
        name="Designed",
        priceType="oneTime",
        price={"unit": "EUR", "value": 5},
        productOffering={"id": str(offering.pk)},
    )
    retired = ProductOfferingPriceFactory(product_offering=offering, name="Retired")
    assert (
        admin_api.patch(
            f"{PRICES}/{retired.pk}", {"lifecycleStatus": "retired"}, format="json"
        ).status_code
        == 200
    )
    account = BillingAccountFactory()
    ProductInstance.objects.create(
        customer=account.customer, billing_account=account, product_offering=offering, name="x"
    )

    in_force = selectors.offering_prices_in_force(offering=offering, at=clock.now())
    orderable = selectors.offerings_orderable_by("consumer").get(pk=offering.pk)
    inventory = admin_api.get(
        f"/tmf-api/productInventory/v4/product?productOffering.id={offering.pk}"
    )

    assert [p.name for p in in_force] == ["Launched"]
    assert [p.name for p in orderable.prices.all()] == ["Launched"]
    assert [p["productOfferingPrice"]["id"] for p in inventory.json()[0]["productPrice"]] == [
        str(launched.pk)
    ]
    assert designed["lifecycleStatus"] == "inDesign"


def test_a_retired_price_cannot_be_launched_again(admin_api):
    price = ProductOfferingPriceFactory()
    admin_api.patch(f"{PRICES}/{price.pk}", {"lifecycleStatus": "retired"}, format="json")

    response = admin_api.patch(
        f"{PRICES}/{price.pk}", {"lifecycleStatus": "launched"}, format="json"
    )

    assert response.status_code == 409
    assert price_row(price.pk)[0] == "retired"
    assert list(price.history.values_list("from_state", "to_state")) == [("launched", "retired")]


def test_existing_and_factory_prices_are_launched(agent_api):
    price = ProductOfferingPriceFactory()

    body = agent_api.get(f"{PRICES}/{price.pk}").json()

    assert body["lifecycleStatus"] == "launched"
    assert [p.pk for p in selectors.prices_in_force(at=clock.now())] == [price.pk]


def test_only_admins_write_prices(agent_api, noc_api, finance_api):
    for client in (agent_api, noc_api, finance_api):
        assert client.post(PRICES, {"name": "P"}, format="json").status_code == 403
    assert not ProductOfferingPrice.objects.exists()
