"""Hostile bodies get a 4xx TMF error naming what is wrong, and change nothing (never a 500).

Each case was found by schema fuzzing or an outside client: JSON nested a thousand deep, a
20 MB body, and merge patches whose nested objects lack their `id`.
"""

import json

import pytest

from catalog.models import Catalog, ProductOffering, ProductOfferingPrice, ProductSpecification
from catalog.tests.factories import (
    CatalogFactory,
    CategoryFactory,
    ProductOfferingFactory,
    ProductOfferingPriceFactory,
    ProductSpecificationFactory,
    ServiceSpecificationFactory,
)
from crm.models import BillingAccount
from crm.tests.factories import BillingAccountFactory
from telco.api.parsers import MAX_JSON_DEPTH

CATALOG = "/tmf-api/productCatalogManagement/v4"
CATEGORIES = f"{CATALOG}/category"
ACCOUNTS = "/tmf-api/accountManagement/v4/billingAccount"
ERROR_KEYS = {"code", "reason", "message", "status", "@type"}


def nested(depth: int) -> str:
    """`{"name": "Deep", "description": [[...]]}`: JSON `depth` levels deep in all.

    Built as text: Python's own json module cannot write what it cannot read.
    """
    return '{"name": "Deep", "description": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("depth", [1000, MAX_JSON_DEPTH + 1])
def test_json_nested_too_deep_is_a_400_and_creates_nothing(admin_api, depth):
    body = nested(depth)

    response = admin_api.post(CATEGORIES, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "reason": "Malformed request.",
        "message": f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.",
        "status": "400",
        "@type": "Error",
    }
    assert admin_api.get(CATEGORIES).json() == []


def test_json_as_deep_as_allowed_reaches_validation(admin_api):
    body = nested(MAX_JSON_DEPTH)

    response = admin_api.post(CATEGORIES, body, content_type="application/json")

    # Parsed: the answer is about the attribute, not about the JSON.
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["description"]


def test_merge_patch_nested_too_deep_is_a_400_and_changes_nothing(admin_api):
    category = CategoryFactory(name="Mobile")
    body = '{"name": ' + "[" * MAX_JSON_DEPTH + '"Deep"' + "]" * MAX_JSON_DEPTH + "}"

    response = admin_api.patch(
        f"{CATEGORIES}/{category.pk}", body, content_type="application/merge-patch+json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    category.refresh_from_db()
    assert category.name == "Mobile"


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (CATEGORIES, "application/json"),
        (ACCOUNTS, "application/json"),
        ("/api/v1/inventory/import/sites", "text/csv"),
    ],
)
def test_a_body_over_the_limit_is_a_413_with_the_tmf_error(admin_api, settings, path, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    body = "x" * (20 * 1024 * 1024)

    response = admin_api.post(path, body, content_type=content_type)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "code": "requestTooLarge",
        "reason": "Request Entity Too Large",
        "message": "body: the request body exceeds 10485760 bytes.",
        "status": "413",
        "@type": "Error",
        "errors": {"body": ["At most 10485760 bytes."]},
    }
    assert not BillingAccount.objects.exists()


def test_a_body_under_the_limit_is_read(admin_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = admin_api.post(CATEGORIES, {"name": "Mobile"}, format="json")

    assert response.status_code == 201
    assert response.json()["name"] == "Mobile"


def _patch(admin_api, path: str, body: dict):
    return admin_api.patch(path, json.dumps(body), content_type="application/merge-patch+json")


@pytest.mark.parametrize("entity", ["catalog", "productOffering"])
def test_patch_with_a_category_ref_without_id_is_a_400_naming_it(admin_api, entity):
    category = CategoryFactory(name="Mobile")
    row = CatalogFactory() if entity == "catalog" else ProductOfferingFactory()
    row.categories.add(category)
    model = Catalog if entity == "catalog" else ProductOffering
    before = model.objects.get(pk=row.pk)

    response = _patch(admin_api, f"{CATALOG}/{entity}/{row.pk}", {"category": [{}]})

    assert response.status_code == 400
    assert response.json()["errors"] == {"category[0].id": ["This field is required."]}
    row.refresh_from_db()
    assert row.last_update == before.last_update
    assert list(row.categories.all()) == [category]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"serviceSpecification": [{"name": "no id"}]}, "serviceSpecification[0].id"),
        ({"productSpecCharacteristic": [{}]}, "productSpecCharacteristic[0].name"),
    ],
)
def test_patch_of_a_specification_with_an_incomplete_nested_object_is_a_400(admin_api, body, field):
    service_specification = ServiceSpecificationFactory()
    specification = ProductSpecificationFactory()
    specification.service_specifications.add(service_specification)

    response = _patch(admin_api, f"{CATALOG}/productSpecification/{specification.pk}", body)

    assert response.status_code == 400
    assert response.json()["errors"] == {field: ["This field is required."]}
    specification = ProductSpecification.objects.get(pk=specification.pk)
    assert list(specification.service_specifications.all()) == [service_specification]
    assert not specification.characteristics.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"productOffering": {}}, "productOffering.id"),
        ({"price": {"unit": "EUR"}}, "price.value"),
    ],
)
def test_patch_of_a_price_with_an_incomplete_nested_object_is_a_400(admin_api, body, field):
    price = ProductOfferingPriceFactory()
    offering_id = price.product_offering_id

    response = _patch(admin_api, f"{CATALOG}/productOfferingPrice/{price.pk}", body)

    assert response.status_code == 400
    assert response.json()["errors"] == {field: ["This field is required."]}
    price = ProductOfferingPrice.objects.get(pk=price.pk)
    assert (price.product_offering_id, str(price.amount)) == (offering_id, "10.0000")


def test_patch_of_an_account_with_a_payment_method_without_id_is_a_400(admin_api):
    account = BillingAccountFactory(payment_method="card")

    response = _patch(admin_api, f"{ACCOUNTS}/{account.pk}", {"defaultPaymentMethod": {}})

    assert response.status_code == 400
    assert response.json()["errors"] == {"defaultPaymentMethod.id": ["This field is required."]}
    account.refresh_from_db()
    assert account.payment_method == "card"
    assert set(response.json()) >= ERROR_KEYS
