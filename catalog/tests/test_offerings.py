"""Offerings in depth: eligibility by segment, bundles, categories on offerings."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import selectors
from catalog.choices import LifecycleStatus
from catalog.models import PriceTier, ProductOffering, ProductOfferingPrice
from catalog.tests.factories import (
    CategoryFactory,
    CharacteristicSpecificationFactory,
    ProductOfferingFactory,
    ProductOfferingPriceFactory,
    ProductSpecificationFactory,
    five_g_premium_offering,
)

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productCatalogManagement/v4"
HOST = "http://testserver"


def post_offering(client, **body):
    specification = body.pop("specification", None) or ProductSpecificationFactory()
    return client.post(
        f"{BASE}/productOffering",
        {"name": "New", "productSpecification": {"id": str(specification.pk)}, **body},
        format="json",
    )


# --- eligibility ------------------------------------------------------------------------------


def test_market_segments_through_the_api(admin_api, agent_api):
    response = post_offering(
        admin_api,
        name="Business Fibre",
        marketSegment=[{"id": "enterprise"}, {"id": "smallBusiness", "name": "SMB"}],
    )
    assert response.status_code == 201, response.json()
    offering = ProductOffering.objects.get(name="Business Fibre")
    assert offering.market_segments == ["enterprise", "smallBusiness"]
    body = agent_api.get(f"{BASE}/productOffering/{offering.pk}").json()
    assert body["marketSegment"] == [
        {"id": "enterprise", "name": "enterprise", "@referredType": "MarketSegment"},
        {"id": "smallBusiness", "name": "smallBusiness", "@referredType": "MarketSegment"},
    ]
    response = admin_api.patch(
        f"{BASE}/productOffering/{offering.pk}", {"marketSegment": []}, format="json"
    )
    assert response.status_code == 200
    offering.refresh_from_db()
    assert offering.market_segments == []


@pytest.mark.parametrize(
    ("segments", "field"),
    [
        ([{"id": "students"}], "marketSegment[0].id"),
        ([{"id": "consumer"}, {"id": "consumer"}], "marketSegment[1].id"),
    ],
)
def test_bad_market_segment_writes_nothing(admin_api, segments, field):
    response = post_offering(admin_api, marketSegment=segments)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not ProductOffering.objects.exists()


def test_is_eligible_for():
    anyone = ProductOfferingFactory(market_segments=[])
    business = ProductOfferingFactory(market_segments=["enterprise", "smallBusiness"])
    assert anyone.is_eligible_for("consumer")
    assert business.is_eligible_for("enterprise")
    assert not business.is_eligible_for("consumer")


def test_offerings_orderable_by_segment_lifecycle_validity_and_sellable():
    now = timezone.now()
    anyone = ProductOfferingFactory(name="Anyone", valid_from=now - timedelta(days=1))
    ProductOfferingFactory(
        name="Enterprise only", market_segments=["enterprise"], valid_from=now - timedelta(days=1)
    )
    ProductOfferingFactory(name="Designed", lifecycle_status=LifecycleStatus.IN_DESIGN)
    ProductOfferingFactory(name="Retired", lifecycle_status=LifecycleStatus.RETIRED)
    ProductOfferingFactory(name="Not sellable", is_sellable=False)
    ProductOfferingFactory(name="Future", valid_from=now + timedelta(days=10))
    ProductOfferingFactory(
        name="Ended", valid_from=now - timedelta(days=10), valid_to=now - timedelta(days=1)
    )
    consumer = ProductOfferingFactory(
        name="Consumers", market_segments=["consumer", "smallBusiness"]
    )

    def names(segment, at=None):
        return [o.name for o in selectors.offerings_orderable_by(segment, at)]

    assert names("consumer") == ["Anyone", "Consumers"]
    assert names("enterprise") == ["Anyone", "Enterprise only"]
    assert names("smallBusiness") == ["Anyone", "Consumers"]
    assert "Future" in names("consumer", at=now + timedelta(days=11))
    assert "Ended" in names("consumer", at=now - timedelta(days=5))
    assert anyone.is_eligible_for("enterprise")
    assert not consumer.is_eligible_for("enterprise")


def test_offerings_orderable_by_prefetches_in_a_fixed_number_of_queries():
    def build(index):
        offering = five_g_premium_offering(name=f"5G {index}")
        usage = offering.prices.get(price_type="usage")
        PriceTier.objects.create(price=usage, lower_bound=0, unit_amount=2)
        CharacteristicSpecificationFactory(product_specification=offering.product_specification)
        offering.categories.add(CategoryFactory(name="Mobile"))

    def walk():
        with CaptureQueriesContext(connection) as context:
            rows = [
                (
                    o.product_specification.name,
                    [c.name for c in o.product_specification.characteristics.all()],
                    [(p.name, [t.unit_amount for t in p.tiers.all()]) for p in o.prices.all()],
                    [c.name for c in o.categories.all()],
                )
                for o in selectors.offerings_orderable_by("consumer")
            ]
        return len(context.captured_queries), rows

    build(1)
    few, few_rows = walk()
    for index in range(2, 6):
        build(index)
    many, many_rows = walk()
    assert (len(few_rows), len(many_rows)) == (1, 5)
    assert few == many
    assert many_rows[0][1] == ["bandwidth", many_rows[0][1][1]]
    assert many_rows[0][2][2] == ("Data usage", [2])


def test_orderable_prices_are_the_ones_in_force():
    offering = ProductOfferingFactory(valid_from=datetime(2026, 1, 1, tzinfo=UTC))
    ProductOfferingPriceFactory(
        product_offering=offering,
        name="Old",
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        valid_to=datetime(2026, 6, 1, tzinfo=UTC),
    )
    ProductOfferingPriceFactory(
        product_offering=offering, name="New", valid_from=datetime(2026, 6, 1, tzinfo=UTC)
    )
    (march,) = selectors.offerings_orderable_by("consumer", datetime(2026, 3, 1, tzinfo=UTC))
    (july,) = selectors.offerings_orderable_by("consumer", datetime(2026, 7, 1, tzinfo=UTC))
    assert [p.name for p in march.prices.all()] == ["Old"]
    assert [p.name for p in july.prices.all()] == ["New"]


# --- bundles ----------------------------------------------------------------------------------


def test_bundle_create_launch_and_representation(admin_api, agent_api):
    mobile = ProductOfferingFactory(name="Mobile")
    fibre = ProductOfferingFactory(name="Fibre", lifecycle_status=LifecycleStatus.IN_DESIGN)
    response = post_offering(
        admin_api,
        name="Home bundle",
        isBundle=True,
        bundledProductOffering=[{"id": str(mobile.pk)}, {"id": str(fibre.pk)}],
    )
    assert response.status_code == 201, response.json()
    bundle = ProductOffering.objects.get(name="Home bundle")
    assert bundle.is_bundle
    assert list(bundle.bundled_offerings.order_by("id")) == [mobile, fibre]
    body = agent_api.get(f"{BASE}/productOffering/{bundle.pk}").json()
    assert body["isBundle"] is True
    assert body["bundledProductOffering"] == [
        {
            "id": str(o.pk),
            "href": f"{HOST}{BASE}/productOffering/{o.pk}",
            "name": o.name,
            "@referredType": "ProductOffering",
            "lifecycleStatus": o.lifecycle_status,
        }
        for o in (mobile, fibre)
    ]
    url = f"{BASE}/productOffering/{bundle.pk}"
    # Not on sale before everything in it is.
    response = admin_api.patch(url, {"lifecycleStatus": "launched"}, format="json")
    assert response.status_code == 409
    assert "Fibre" in response.json()["message"]
    bundle.refresh_from_db()
    assert bundle.lifecycle_status == LifecycleStatus.IN_DESIGN
    admin_api.patch(
        f"{BASE}/productOffering/{fibre.pk}", {"lifecycleStatus": "launched"}, format="json"
    )
    response = admin_api.patch(url, {"lifecycleStatus": "launched"}, format="json")
    assert response.status_code == 200
    listing = agent_api.get(f"{BASE}/productOffering?isBundle=true")
    assert [o["id"] for o in listing.json()] == [str(bundle.pk)]
    listing = agent_api.get(f"{BASE}/productOffering?bundledProductOffering.id={fibre.pk}")
    assert [o["id"] for o in listing.json()] == [str(bundle.pk)]
    # A bundled offering cannot be deleted or retired from under its bundle.
    response = admin_api.delete(f"{BASE}/productOffering/{fibre.pk}")
    assert response.status_code == 409
    assert ProductOffering.objects.filter(pk=fibre.pk).exists()
    fibre_url = f"{BASE}/productOffering/{fibre.pk}"
    response = admin_api.patch(fibre_url, {"lifecycleStatus": "retired"}, format="json")
    assert response.status_code == 409
    assert "retire the bundle first" in response.json()["message"]
    fibre.refresh_from_db()
    assert fibre.lifecycle_status == LifecycleStatus.LAUNCHED
    assert admin_api.patch(url, {"lifecycleStatus": "retired"}, format="json").status_code == 200
    response = admin_api.patch(fibre_url, {"lifecycleStatus": "retired"}, format="json")
    assert response.status_code == 200


def test_bundle_cannot_contain_itself(admin_api):
    first, second = ProductOfferingFactory(), ProductOfferingFactory()
    bundle = ProductOfferingFactory(is_bundle=True)
    bundle.bundled_offerings.set([first, second])
    response = admin_api.patch(
        f"{BASE}/productOffering/{bundle.pk}",
        {"bundledProductOffering": [{"id": str(first.pk)}, {"id": str(bundle.pk)}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "bundledProductOffering[1].id": ["A bundle cannot contain itself."]
    }
    assert list(bundle.bundled_offerings.order_by("id")) == [first, second]


def test_bad_bundle_writes_nothing(admin_api):
    good = ProductOfferingFactory(name="Good")
    cases = [
        (ProductOfferingFactory(lifecycle_status=LifecycleStatus.RETIRED).pk, True),
        (ProductOfferingFactory(is_bundle=True).pk, True),
        (999999, True),
        (good.pk, True),
        (None, True),
        (ProductOfferingFactory().pk, False),
    ]
    fields = ["bundledProductOffering[1].id"] * 4 + ["bundledProductOffering"] * 2
    before = ProductOffering.objects.count()
    for (other, is_bundle), field in zip(cases, fields, strict=True):
        items = [{"id": str(good.pk)}] + ([{"id": str(other)}] if other else [])
        response = post_offering(
            admin_api, name="Bad bundle", isBundle=is_bundle, bundledProductOffering=items
        )
        assert response.status_code == 400, items
        assert list(response.json()["errors"]) == [field], response.json()
    assert ProductOffering.objects.count() == before


def test_an_offering_inside_a_bundle_cannot_become_one(admin_api):
    first, second = ProductOfferingFactory(), ProductOfferingFactory()
    bundle = ProductOfferingFactory(is_bundle=True)
    bundle.bundled_offerings.set([first, second])
    third = ProductOfferingFactory()
    response = admin_api.patch(
        f"{BASE}/productOffering/{first.pk}",
        {
            "isBundle": True,
            "bundledProductOffering": [{"id": str(third.pk)}, {"id": str(second.pk)}],
        },
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["isBundle"]
    first.refresh_from_db()
    assert not first.is_bundle
    assert not first.bundled_offerings.exists()


# --- categories on offerings ------------------------------------------------------------------


def test_offering_categories(admin_api, agent_api):
    mobile, broadband = CategoryFactory(name="Mobile"), CategoryFactory(name="Broadband")
    response = post_offering(admin_api, name="Combo", category=[{"id": str(mobile.pk)}])
    assert response.status_code == 201, response.json()
    offering = ProductOffering.objects.get(name="Combo")
    assert response.json()["category"] == [
        {
            "id": str(mobile.pk),
            "href": f"{HOST}{BASE}/category/{mobile.pk}",
            "name": "Mobile",
            "@referredType": "Category",
        }
    ]
    response = admin_api.patch(
        f"{BASE}/productOffering/{offering.pk}",
        {"category": [{"id": str(mobile.pk)}, {"id": str(broadband.pk)}]},
        format="json",
    )
    assert [c["name"] for c in response.json()["category"]] == ["Mobile", "Broadband"]
    ProductOfferingFactory(name="Other").categories.add(broadband)
    listing = agent_api.get(f"{BASE}/productOffering?category.id={mobile.pk},{broadband.pk}")
    assert [o["name"] for o in listing.json()] == ["Combo", "Other"]
    response = post_offering(admin_api, name="Lost", category=[{"id": "404"}])
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["category[0].id"]
    assert not ProductOffering.objects.filter(name="Lost").exists()


def test_offering_list_query_count_with_categories_and_bundles(agent_api):
    def count():
        with CaptureQueriesContext(connection) as context:
            response = agent_api.get(f"{BASE}/productOffering")
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json())

    def build():
        parts = [ProductOfferingFactory(), ProductOfferingFactory()]
        bundle = ProductOfferingFactory(is_bundle=True, market_segments=["consumer"])
        bundle.bundled_offerings.set(parts)
        bundle.categories.add(CategoryFactory())
        ProductOfferingPriceFactory(product_offering=bundle)

    build()
    few, few_rows = count()
    for _ in range(4):
        build()
    many, many_rows = count()
    assert (few_rows, many_rows) == (3, 15)
    assert few == many


def test_retired_offering_is_not_orderable_and_prices_cascade_on_delete(admin_api):
    offering = ProductOfferingFactory(lifecycle_status=LifecycleStatus.RETIRED)
    assert not offering.is_orderable()
    ProductOfferingPriceFactory(product_offering=offering)
    assert admin_api.delete(f"{BASE}/productOffering/{offering.pk}").status_code == 204
    assert not ProductOfferingPrice.objects.exists()
