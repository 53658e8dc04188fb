"""The demo catalog shows each catalog feature once, and building it twice adds nothing."""

from decimal import Decimal

import pytest

from catalog import demo, selectors
from catalog.models import Catalog, Category, PriceTier, ProductOffering, ProductOfferingPrice

pytestmark = pytest.mark.django_db


def test_demo_catalog_in_depth():
    demo.ensure_catalog()
    counts = (
        ProductOffering.objects.count(),
        ProductOfferingPrice.objects.count(),
        PriceTier.objects.count(),
        Category.objects.count(),
    )
    demo.ensure_catalog()
    assert counts == (
        ProductOffering.objects.count(),
        ProductOfferingPrice.objects.count(),
        PriceTier.objects.count(),
        Category.objects.count(),
    )
    catalog = Catalog.objects.get()
    assert sorted(catalog.categories.values_list("name", flat=True)) == [
        "5G",
        "Broadband",
        "Business",
        "Mobile",
    ]
    assert Category.objects.get(name="5G").parent.name == "Mobile"
    assert Category.objects.get(name="Mobile").description == "5G mobile connectivity"
    assert Category.objects.get(name="Business").description == "Connectivity for companies"
    annual = ProductOffering.objects.get(name="5G Premium Annual")
    assert annual.prices.get(price_type="recurring").recurring_period == "year"
    tiers = annual.prices.get(price_type="usage").tiers.order_by("lower_bound")
    assert [(t.lower_bound, t.upper_bound) for t in tiers] == [
        (0, 10),
        (10, 50),
        (50, None),
    ]
    welcome = ProductOfferingPrice.objects.get(name="Welcome discount")
    assert (welcome.product_offering.name, welcome.percentage, welcome.applies_for_periods) == (
        "5G Essential",
        Decimal("20"),
        3,
    )
    bundle = ProductOffering.objects.get(is_bundle=True)
    assert sorted(bundle.bundled_offerings.values_list("name", flat=True)) == [
        "5G Essential",
        "Fibre 500",
    ]
    assert ProductOffering.objects.get(name="Enterprise Ethernet").market_segments == ["enterprise"]
    consumer = {o.name for o in selectors.offerings_orderable_by("consumer")}
    enterprise = {o.name for o in selectors.offerings_orderable_by("enterprise")}
    assert "Enterprise Ethernet" in enterprise - consumer
    assert "5G + Fibre Home Bundle" in consumer - enterprise
    cfs = annual.product_specification.service_specifications.get()
    assert sorted(cfs.supporting_specifications.values_list("name", "category")) == [
        ("5G RAN access", "RFS"),
        ("5G network slice", "RFS"),
    ]
