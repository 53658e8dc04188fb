"""TMF620 category and catalog resources."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Catalog, Category
from catalog.tests.factories import CatalogFactory, CategoryFactory, ProductOfferingFactory

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/productCatalogManagement/v4"
HOST = "http://testserver"


def test_category_tree(admin_api, agent_api):
    response = admin_api.post(
        f"{BASE}/category", {"name": "Mobile", "description": "Phones"}, format="json"
    )
    assert response.status_code == 201, response.json()
    mobile = Category.objects.get(name="Mobile")
    assert response["Location"] == f"{HOST}{BASE}/category/{mobile.pk}"
    response = admin_api.post(
        f"{BASE}/category", {"name": "5G", "parentId": str(mobile.pk)}, format="json"
    )
    assert response.status_code == 201, response.json()
    five_g = Category.objects.get(name="5G")
    assert five_g.parent == mobile
    offering = ProductOfferingFactory(name="5G Premium")
    offering.categories.add(five_g)
    body = agent_api.get(f"{BASE}/category/{mobile.pk}").json()
    assert body == {
        "id": str(mobile.pk),
        "href": f"{HOST}{BASE}/category/{mobile.pk}",
        "name": "Mobile",
        "description": "Phones",
        "lifecycleStatus": "launched",
        "parentId": None,
        "lastUpdate": body["lastUpdate"],
        "isRoot": True,
        "validFor": {"startDateTime": body["validFor"]["startDateTime"], "endDateTime": None},
        "subCategory": [
            {
                "id": str(five_g.pk),
                "href": f"{HOST}{BASE}/category/{five_g.pk}",
                "name": "5G",
                "@referredType": "Category",
            }
        ],
        "productOffering": [],
        "@type": "Category",
    }
    body = agent_api.get(f"{BASE}/category/{five_g.pk}").json()
    assert (body["parentId"], body["isRoot"]) == (str(mobile.pk), False)
    assert [o["name"] for o in body["productOffering"]] == ["5G Premium"]
    listing = agent_api.get(f"{BASE}/category?parentId={mobile.pk}").json()
    assert [c["name"] for c in listing] == ["5G"]


def test_category_cannot_sit_under_itself(admin_api):
    top = CategoryFactory(name="Top")
    middle = CategoryFactory(name="Middle", parent=top)
    bottom = CategoryFactory(name="Bottom", parent=middle)
    for target in (top, bottom):
        response = admin_api.patch(
            f"{BASE}/category/{top.pk}", {"parentId": str(target.pk)}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"] == {"parentId": ["A category cannot sit under itself."]}
    top.refresh_from_db()
    assert top.parent is None
    response = admin_api.patch(f"{BASE}/category/{bottom.pk}", {"parentId": None}, format="json")
    assert response.status_code == 200
    assert response.json()["isRoot"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Taken"}, "name"),
        ({"name": "Orphan", "parentId": "999"}, "parentId"),
        ({"name": "Orphan", "lifecycleStatus": "sold"}, "lifecycleStatus"),
        (
            {
                "name": "Backwards",
                "validFor": {
                    "startDateTime": "2026-05-01T00:00:00Z",
                    "endDateTime": "2026-01-01T00:00:00Z",
                },
            },
            "validFor.endDateTime",
        ),
    ],
)
def test_bad_category_writes_nothing(admin_api, body, field):
    CategoryFactory(name="Taken")
    response = admin_api.post(f"{BASE}/category", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert list(Category.objects.values_list("name", flat=True)) == ["Taken"]


def test_category_delete_refused_while_in_use(admin_api):
    parent = CategoryFactory(name="Parent")
    child = CategoryFactory(name="Child", parent=parent)
    ProductOfferingFactory().categories.add(child)
    assert admin_api.delete(f"{BASE}/category/{parent.pk}").status_code == 409
    assert admin_api.delete(f"{BASE}/category/{child.pk}").status_code == 409
    assert Category.objects.count() == 2
    child.offerings.clear()
    assert admin_api.delete(f"{BASE}/category/{child.pk}").status_code == 204
    assert admin_api.delete(f"{BASE}/category/{parent.pk}").status_code == 204
    assert not Category.objects.exists()


def test_catalog_crud(admin_api, finance_api):
    mobile, broadband = CategoryFactory(name="Mobile"), CategoryFactory(name="Broadband")
    response = admin_api.post(
        f"{BASE}/catalog",
        {"name": "Retail", "catalogType": "retail", "category": [{"id": str(mobile.pk)}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    catalog = Catalog.objects.get(name="Retail")
    body = finance_api.get(f"{BASE}/catalog/{catalog.pk}").json()
    assert body == {
        "id": str(catalog.pk),
        "href": f"{HOST}{BASE}/catalog/{catalog.pk}",
        "name": "Retail",
        "description": "",
        "catalogType": "retail",
        "lifecycleStatus": "launched",
        "lastUpdate": body["lastUpdate"],
        "validFor": {"startDateTime": body["validFor"]["startDateTime"], "endDateTime": None},
        "category": [
            {
                "id": str(mobile.pk),
                "href": f"{HOST}{BASE}/category/{mobile.pk}",
                "name": "Mobile",
                "@referredType": "Category",
            }
        ],
        "@type": "Catalog",
    }
    response = admin_api.patch(
        f"{BASE}/catalog/{catalog.pk}",
        {"category": [{"id": str(broadband.pk)}, {"id": "404"}]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["category[1].id"]
    assert list(catalog.categories.all()) == [mobile]
    response = admin_api.patch(
        f"{BASE}/catalog/{catalog.pk}",
        {"category": [{"id": str(broadband.pk)}], "description": "Shops"},
        format="json",
    )
    assert response.status_code == 200
    assert [c["name"] for c in response.json()["category"]] == ["Broadband"]
    listing = finance_api.get(f"{BASE}/catalog?category.id={broadband.pk}").json()
    assert [c["name"] for c in listing] == ["Retail"]
    assert admin_api.delete(f"{BASE}/catalog/{catalog.pk}").status_code == 204
    assert Category.objects.count() == 2  # the categories outlive the catalog


def test_only_admin_writes_categories_and_catalogs(
    anonymous_api, agent_api, noc_api, finance_api, admin_api
):
    category = CategoryFactory(name="Mobile")
    catalog = CatalogFactory(name="Retail")
    for client in (agent_api, noc_api, finance_api):
        for resource, pk in (("category", category.pk), ("catalog", catalog.pk)):
            assert client.get(f"{BASE}/{resource}").status_code == 200
            assert client.get(f"{BASE}/{resource}/{pk}").status_code == 200
            assert (
                client.post(f"{BASE}/{resource}", {"name": "N"}, format="json").status_code == 403
            )
            url = f"{BASE}/{resource}/{pk}"
            assert client.patch(url, {"name": "N"}, format="json").status_code == 403
            assert client.delete(url).status_code == 403
    assert anonymous_api.get(f"{BASE}/category").status_code == 401
    assert list(Category.objects.values_list("name", flat=True)) == ["Mobile"]
    assert list(Catalog.objects.values_list("name", flat=True)) == ["Retail"]
    assert (
        admin_api.patch(
            f"{BASE}/category/{category.pk}", {"name": "Mob"}, format="json"
        ).status_code
        == 200
    )


@pytest.mark.parametrize("resource", ["category", "catalog"])
def test_list_query_count_is_constant(agent_api, resource):
    def build():
        parent = CategoryFactory()
        child = CategoryFactory(parent=parent)
        ProductOfferingFactory().categories.add(child, parent)
        CatalogFactory().categories.add(parent, child)

    def count():
        with CaptureQueriesContext(connection) as context:
            response = agent_api.get(f"{BASE}/{resource}")
        assert response.status_code == 200
        return len(context.captured_queries), len(response.json())

    build()
    few, few_rows = count()
    for _ in range(4):
        build()
    many, many_rows = count()
    assert many_rows > few_rows
    assert few == many
