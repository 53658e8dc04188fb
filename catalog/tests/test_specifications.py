"""Characteristic ranges, and customer-facing services realised by resource-facing ones."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog import services
from catalog.choices import ServiceCategory, ValueType
from catalog.models import CharacteristicSpecification, ProductSpecification
from catalog.tests.factories import (
    CharacteristicSpecificationFactory,
    ProductSpecificationFactory,
    five_g_premium_offering,
)
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productCatalogManagement/v4"
SERVICE_BASE = "/tmf-api/serviceCatalogManagement/v4"
HOST = "http://testserver"


def speed_characteristic(*values, value_type="number"):
    return {
        "name": "dataCapGb",
        "valueType": value_type,
        "productSpecCharacteristicValue": list(values),
    }


def test_numeric_range_through_the_api(admin_api, agent_api):
    response = admin_api.post(
        f"{BASE}/productSpecification",
        {
            "name": "Capped data",
            "productSpecCharacteristic": [
                speed_characteristic(
                    {"value": "20", "isDefault": True},
                    {"valueFrom": 1, "valueTo": 100.5, "rangeInterval": "closed"},
                )
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    characteristic = CharacteristicSpecification.objects.get(name="dataCapGb")
    assert (
        characteristic.min_value,
        characteristic.max_value,
        characteristic.default_value,
        characteristic.allowed_values,
    ) == (Decimal("1"), Decimal("100.5"), "20", [])
    body = agent_api.get(f"{BASE}/productSpecification/{response.json()['id']}").json()
    assert body["productSpecCharacteristic"][0]["productSpecCharacteristicValue"] == [
        {"value": "20", "isDefault": True},
        {
            "valueType": "number",
            "valueFrom": 1,
            "valueTo": 100.5,
            "rangeInterval": "closed",
            "isDefault": False,
        },
    ]
    specification = ProductSpecification.objects.get(name="Capped data")
    assert services.characteristics_validate(
        product_specification=specification, values={"dataCapGb": "100.5"}
    ) == {"dataCapGb": "100.5"}
    with pytest.raises(DomainError) as error:
        services.characteristics_validate(
            product_specification=specification, values={"dataCapGb": "101"}
        )
    assert (error.value.field, error.value.message) == (
        "dataCapGb",
        "'101' is outside the range 1 to 100.5.",
    )


@pytest.mark.parametrize(
    ("characteristic", "field"),
    [
        (
            speed_characteristic({"valueFrom": 1, "valueTo": 5}, value_type="string"),
            "productSpecCharacteristic[0].productSpecCharacteristicValue.valueFrom",
        ),
        (
            speed_characteristic({"valueFrom": 10, "valueTo": 5}),
            "productSpecCharacteristic[0].productSpecCharacteristicValue.valueFrom",
        ),
        (
            speed_characteristic(
                {"value": "50", "isDefault": True}, {"valueFrom": 1, "valueTo": 5}
            ),
            "productSpecCharacteristic[0].productSpecCharacteristicValue.value",
        ),
        (
            speed_characteristic({"valueFrom": 1}, {"valueTo": 5}),
            "productSpecCharacteristic[0].productSpecCharacteristicValue",
        ),
        (
            speed_characteristic({"valueFrom": 1, "value": "3"}),
            "productSpecCharacteristic[0].productSpecCharacteristicValue[0].value",
        ),
    ],
)
def test_bad_range_writes_nothing(admin_api, characteristic, field):
    response = admin_api.post(
        f"{BASE}/productSpecification",
        {"name": "Bad", "productSpecCharacteristic": [characteristic]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not ProductSpecification.objects.exists()


def test_open_ended_range_and_the_database_check():
    specification = ProductSpecificationFactory()
    CharacteristicSpecificationFactory(
        product_specification=specification,
        name="users",
        value_type=ValueType.NUMBER,
        min_value=Decimal("2"),
    )
    assert services.characteristics_validate(
        product_specification=specification, values={"users": "5000"}
    ) == {"users": "5000"}
    with pytest.raises(DomainError, match="outside the range 2 to ..."):
        services.characteristics_validate(
            product_specification=specification, values={"users": "1"}
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        CharacteristicSpecificationFactory(
            product_specification=specification,
            value_type=ValueType.NUMBER,
            min_value=Decimal("5"),
            max_value=Decimal("1"),
        )


def test_five_g_cfs_is_realised_by_rfs(noc_api):
    offering = five_g_premium_offering()
    cfs = offering.product_specification.service_specifications.get()
    assert (cfs.name, cfs.category) == ("5G Slice Service", ServiceCategory.CUSTOMER_FACING)
    supporting = {
        s.name: (s.category, [r.resource_kind for r in s.resource_specifications.all()])
        for s in cfs.supporting_specifications.all()
    }
    assert supporting == {
        "5G RAN access": ("RFS", ["gnb"]),
        "5G network slice": ("RFS", ["slice"]),
    }
    body = noc_api.get(f"{SERVICE_BASE}/serviceSpecification/{cfs.pk}").json()
    assert (body["@type"], body["category"]) == ("CustomerFacingServiceSpecification", "CFS")
    ran = cfs.supporting_specifications.get(name="5G RAN access")
    network_slice = cfs.supporting_specifications.get(name="5G network slice")
    assert body["serviceSpecRelationship"] == [
        {
            "id": str(s.pk),
            "href": f"{HOST}{SERVICE_BASE}/serviceSpecification/{s.pk}",
            "name": s.name,
            "@referredType": "ServiceSpecification",
            "relationshipType": "reliesOn",
        }
        for s in sorted((ran, network_slice), key=lambda s: s.pk)
    ]
    body = noc_api.get(f"{SERVICE_BASE}/serviceSpecification/{ran.pk}").json()
    assert (body["@type"], body["serviceSpecRelationship"]) == (
        "ResourceFacingServiceSpecification",
        [],
    )
    assert [r["name"] for r in body["resourceSpecification"]] == ["gNB"]
    listing = noc_api.get(f"{SERVICE_BASE}/serviceSpecification?category=RFS").json()
    assert sorted(s["name"] for s in listing) == ["5G RAN access", "5G network slice"]
    # Building the offering twice reuses the same service specifications.
    five_g_premium_offering(name="5G Other")
    assert cfs.supporting_specifications.count() == 2


def test_delete_specification_unless_an_offering_uses_it(admin_api, agent_api):
    offering = five_g_premium_offering()
    specification = offering.product_specification
    url = f"{BASE}/productSpecification/{specification.pk}"
    assert agent_api.delete(url).status_code == 403
    response = admin_api.delete(url)
    assert response.status_code == 409
    assert "5G Premium" in response.json()["message"]
    assert specification.characteristics.count() == 1
    unused = ProductSpecificationFactory()
    CharacteristicSpecificationFactory(product_specification=unused)
    assert admin_api.delete(f"{BASE}/productSpecification/{unused.pk}").status_code == 204
    assert admin_api.delete(f"{BASE}/productSpecification/{unused.pk}").status_code == 404
    assert not CharacteristicSpecification.objects.filter(product_specification=unused.pk).exists()
