"""TMF639 Resource as the spec shapes it, with our physical rules kept.

`POST /resource` takes `name` alone (no `@type` means the base type `Resource`) and stores a
generic resource; a card or port goes through the same inventory service, and so the same
checks (allowed parent, free position), as the services and the CSV import.
"""

import pytest

from catalog.tests.factories import ResourceSpecificationFactory
from inventory import services
from inventory.models import Resource
from inventory.tests.factories import GnbFactory, RouterFactory
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

RESOURCES = "/tmf-api/resourceInventoryManagement/v4/resource"
IMPORT = "/api/v1/inventory/import"


def characteristic(body: dict, name: str):
    return next(c["value"] for c in body["resourceCharacteristic"] if c["name"] == name)


def stored(name: str) -> tuple:
    resource = Resource.objects.get(name=name)
    return (resource.resource_kind, resource.category, resource.parent_id, resource.position)


@pytest.mark.parametrize("body", [{"name": "spare-1"}, {"name": "spare-1", "@type": "Resource"}])
def test_a_resource_with_only_a_name_is_a_generic_resource(noc_api, body):
    response = noc_api.post(RESOURCES, body, format="json")

    assert response.status_code == 201, response.json()
    created = response.json()
    assert response["Location"] == created["href"]
    assert (
        created["name"],
        created["@type"],
        created["@baseType"],
        created["category"],
        characteristic(created, "resourceKind"),
    ) == ("spare-1", "Resource", "LogicalResource", "logical", "other")
    assert stored("spare-1") == ("other", "logical", None, "")
    listed = noc_api.get(f"{RESOURCES}?@type=Resource&name=spare-1").json()
    assert [r["id"] for r in listed] == [created["id"]]


def test_a_base_type_without_a_kind_is_generic_in_its_category(noc_api):
    response = noc_api.post(
        RESOURCES, {"name": "rack-9", "@type": "PhysicalResource"}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["@type"], response.json()["@baseType"]) == (
        "Resource",
        "PhysicalResource",
    )
    assert stored("rack-9") == ("other", "physical", None, "")


def test_the_base_type_takes_the_kind_of_its_specification(noc_api):
    specification = ResourceSpecificationFactory(name="Router spec", resource_kind="router")

    response = noc_api.post(
        RESOURCES,
        {
            "name": "edge-7",
            "@type": "Resource",
            "resourceSpecification": {"id": str(specification.pk)},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert (response.json()["@type"], response.json()["@baseType"]) == (
        "Equipment",
        "PhysicalResource",
    )
    assert stored("edge-7") == ("router", "physical", None, "")


def test_a_card_by_post_is_fitted_as_the_service_fits_it(noc_api):
    router = RouterFactory(name="agg-9", vendor="Cisco")

    response = noc_api.post(
        RESOURCES,
        {
            "name": "agg-9/3",
            "@type": "Card",
            "resourceCharacteristic": [
                {"name": "position", "value": 3},
                {"name": "model", "value": "LC-36"},
            ],
            "resourceRelationship": [{"resource": {"id": str(router.pk)}}],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    card = Resource.objects.get(name="agg-9/3")
    assert (card.resource_kind, card.parent_id, card.position, card.model, card.vendor) == (
        "card",
        router.pk,
        "3",
        "LC-36",
        "Cisco",
    )
    assert card.site_id == router.site_id
    assert characteristic(response.json(), "position") == "3"


def network() -> dict:
    """agg-1 (router) with card agg-1/0 holding port agg-1/0/1; a duct; a gNB."""
    router = RouterFactory(name="agg-1")
    card = services.card_create(equipment=router, slot="0")
    port = services.port_create(parent=card, position="1", capacity_mbps=10_000)
    duct = services.duct_create(name="duct-1")
    return {"router": router, "card": card, "port": port, "duct": duct, "gnb": GnbFactory()}


def api_body(kind: str, parent: Resource, position: str) -> dict:
    return {
        "name": f"new-{kind}",
        "@type": kind.capitalize(),
        "resourceCharacteristic": [
            {"name": "position", "value": position},
            {"name": "capacityMbps", "value": 1000},
        ],
        "resourceRelationship": [
            {"relationshipType": "isContainedIn", "resource": {"id": str(parent.pk)}}
        ],
    }


def csv_body(kind: str, parent: Resource, position: str) -> str:
    if kind == "card":
        return f"equipment,slot,name\n{parent.name},{position},new-card\n"
    return f"parent,position,capacity_mbps,name\n{parent.name},{position},1000,new-port\n"


# (kind, parent in the network, position, the message both paths give)
BAD_PARTS = [
    ("card", "router", "0", "agg-1 already has something in '0'."),
    ("port", "card", "1", "agg-1/0 already has something in '1'."),
    (
        "card",
        "card",
        "5",
        "agg-1/0 is a card: a card goes into one of: gnb, enb, router, switch, olt, coreFunction.",
    ),
    (
        "port",
        "duct",
        "5",
        "duct-1 is a duct: a port goes into one of: card, gnb, enb, router, switch, olt, "
        "coreFunction.",
    ),
    ("port", "card", "x" * 21, "At most 20 characters."),
]
API_FIELDS = {
    "0": "resourceCharacteristic.position",
    "1": "resourceCharacteristic.position",
    "5": "resourceRelationship[0].resource.id",
    "x" * 21: "resourceCharacteristic.position",
}
CSV_COLUMNS = {
    ("card", "resourceCharacteristic.position"): "slot",
    ("port", "resourceCharacteristic.position"): "position",
    ("card", "resourceRelationship[0].resource.id"): "equipment",
    ("port", "resourceRelationship[0].resource.id"): "parent",
}


@pytest.mark.parametrize(("kind", "parent", "position", "message"), BAD_PARTS)
def test_post_and_csv_import_refuse_the_same_bad_part(noc_api, kind, parent, position, message):
    parts = network()
    before = sorted(Resource.objects.values_list("name", flat=True))

    by_post = noc_api.post(RESOURCES, api_body(kind, parts[parent], position), format="json")
    by_csv = noc_api.post(
        f"{IMPORT}/{kind}s", csv_body(kind, parts[parent], position), content_type="text/csv"
    )

    field = API_FIELDS[position]
    assert by_post.status_code == 400
    assert by_post.json()["errors"] == {field: [message]}
    assert by_csv.status_code == 400
    assert by_csv.json()["rows"] == [
        {"row": 2, "column": CSV_COLUMNS[kind, field], "message": message}
    ]
    assert sorted(Resource.objects.values_list("name", flat=True)) == before


def test_the_service_refuses_the_same_taken_slot():
    parts = network()

    with pytest.raises(DomainError) as refused:
        services.card_create(equipment=parts["router"], slot="0", name="new-card")

    assert (refused.value.field, refused.value.message) == (
        "slot",
        "agg-1 already has something in '0'.",
    )
    assert not Resource.objects.filter(name="new-card").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"name": "loose-card", "@type": "Card"},
            "resourceRelationship",
        ),
        (
            {
                "name": "loose-port",
                "@type": "Port",
                "resourceRelationship": [{"resource": {"id": "PARENT"}}],
            },
            "resourceCharacteristic.position",
        ),
    ],
)
def test_a_part_by_post_needs_a_parent_and_a_position(noc_api, body, field):
    parts = network()
    for relationship in body.get("resourceRelationship", []):
        relationship["resource"]["id"] = str(parts["card"].pk)
    before = Resource.objects.count()

    response = noc_api.post(RESOURCES, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert Resource.objects.count() == before


def test_only_the_noc_creates_resources(agent_api, finance_api):
    for client in (agent_api, finance_api):
        assert client.post(RESOURCES, {"name": "spare"}, format="json").status_code == 403
    assert not Resource.objects.filter(name="spare").exists()
