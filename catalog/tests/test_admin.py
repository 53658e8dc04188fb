"""The catalog's admin pages load, with the new models and the tier inline."""

import pytest

from catalog.models import PriceTier
from catalog.tests.factories import CatalogFactory, CategoryFactory, five_g_premium_offering

pytestmark = pytest.mark.django_db


def test_admin_pages_load(admin_client):
    offering = five_g_premium_offering()
    usage = offering.prices.get(price_type="usage")
    PriceTier.objects.create(price=usage, lower_bound=0, unit_amount=2)
    category = CategoryFactory(name="Mobile")
    CategoryFactory(name="5G", parent=category)
    CatalogFactory(name="Retail").categories.add(category)
    for model in (
        "category",
        "catalog",
        "productoffering",
        "productofferingprice",
        "servicespecification",
        "characteristicspecification",
    ):
        assert admin_client.get(f"/admin/catalog/{model}/").status_code == 200, model
    page = admin_client.get(f"/admin/catalog/productofferingprice/{usage.pk}/change/")
    assert page.status_code == 200
    assert b"tiers-TOTAL_FORMS" in page.content
    page = admin_client.get(f"/admin/catalog/productoffering/{offering.pk}/change/")
    assert page.status_code == 200
    assert b"bundled_offerings" in page.content
    assert admin_client.get("/admin/catalog/productoffering/?is_bundle__exact=1").status_code == 200
