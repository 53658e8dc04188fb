"""TMF639 `/resource` over the whole inventory: @type, relationships, place, links by POST."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.models import Link, Resource
from inventory.tests.factories import GnbFactory, RouterFactory, SiteFactory

RESOURCES = "/tmf-api/resourceInventoryManagement/v4/resource"

pytestmark = pytest.mark.django_db


def build_span(number: int = 0) -> dict:
    """A gNB uplinked by fibre in a cable (in a duct) to a router, ports on cards."""
    gnb, router = GnbFactory(name=f"gnb-{number}"), RouterFactory(name=f"agg-{number}")
    ports = []
    for equipment in (gnb, router):
        card = services.card_create(equipment=equipment, slot="0", model="LC-10")
        ports.append(services.port_create(parent=card, position="1", capacity_mbps=10_000))
    duct = services.duct_create(name=f"duct-{number}")
    cable = services.cable_create(name=f"cable-{number}", duct=duct)
    link = services.link_create(
        name=f"link-{number}", a_end=ports[0], z_end=ports[1], cable=cable, capacity_mbps=10_000
    )
    pool = services.vlan_pool_create(name=f"vlans-{number}", first_vid=10, last_vid=11)
    return {
        "gnb": gnb,
        "router": router,
        "ports": ports,
        "duct": duct,
        "cable": cable,
        "link": link,
        "pool": pool,
    }


def relationships(body: dict) -> list[tuple[str, str]]:
    return [(r["relationshipType"], r["resource"]["name"]) for r in body["resourceRelationship"]]


def test_every_kind_has_its_type_and_relationships(finance_api):
    span = build_span()

    body = finance_api.get(f"{RESOURCES}/{span['link'].pk}").data
    assert (body["@type"], body["@baseType"], body["category"]) == (
        "Link",
        "PhysicalResource",
        "physical",
    )
    assert relationships(body) == [
        ("isContainedIn", "cable-0"),
        ("aEnd", "gnb-0/0/1"),
        ("zEnd", "agg-0/0/1"),
    ]
    assert {"name": "medium", "value": "fibre"} in body["resourceCharacteristic"]
    assert body["place"] is None

    port = finance_api.get(f"{RESOURCES}/{span['ports'][0].pk}").data
    assert port["@type"] == "Port"
    assert relationships(port) == [("isContainedIn", "gnb-0/0"), ("isConnectedBy", "link-0")]
    assert port["place"]["id"] == str(span["gnb"].site_id)
    assert {"name": "position", "value": "1"} in port["resourceCharacteristic"]

    card = finance_api.get(f"{RESOURCES}/{span['ports'][0].parent_id}").data
    assert (card["@type"], relationships(card)) == ("Card", [("isContainedIn", "gnb-0")])
    cable = finance_api.get(f"{RESOURCES}/{span['cable'].pk}").data
    assert relationships(cable) == [("isContainedIn", "duct-0"), ("contains", "link-0")]
    duct = finance_api.get(f"{RESOURCES}/{span['duct'].pk}").data
    assert (duct["@type"], relationships(duct)) == ("Duct", [("contains", "cable-0")])
    vlan = finance_api.get(f"{RESOURCES}?name=vlans-0/vlan-10").data[0]
    assert (vlan["@type"], vlan["@baseType"], vlan["value"]) == ("Vlan", "LogicalResource", "10")


def test_type_filter_picks_kinds_or_base_types(agent_api):
    build_span()

    def names(query: str) -> set[str]:
        response = agent_api.get(f"{RESOURCES}?{query}&fields=name&limit=1000")
        assert response.status_code == 200, response.data
        return {item["name"] for item in response.data}

    assert names("@type=Equipment") == {"gnb-0", "agg-0"}
    assert names("@type=Cable,Duct") == {"cable-0", "duct-0"}
    assert names("@type=LogicalResource") == {"vlans-0", "vlans-0/vlan-10", "vlans-0/vlan-11"}
    assert names("@type=Port&name=agg-0/0/1") == {"agg-0/0/1"}
    assert len(names("@type=PhysicalResource")) == 9
    assert names("@type=Vlan&value=11") == {"vlans-0/vlan-11"}
    response = agent_api.get(f"{RESOURCES}?@type=Spaceship")
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["@type"]


def test_resource_list_query_count_does_not_grow(agent_api):
    build_span(1)
    with CaptureQueriesContext(connection) as one:
        assert agent_api.get(f"{RESOURCES}?limit=1000").status_code == 200
    for number in range(2, 6):
        build_span(number)
    with CaptureQueriesContext(connection) as many:
        response = agent_api.get(f"{RESOURCES}?limit=1000")
    assert len(response.data) == Resource.objects.count()
    assert len(many.captured_queries) == len(one.captured_queries)


def test_noc_creates_cards_ports_and_links_by_post(noc_api):
    site = SiteFactory(name="Hub")
    router = RouterFactory(site=site)
    gnb = GnbFactory()

    def post(body: dict):
        return noc_api.post(RESOURCES, body, format="json")

    card = post(
        {
            "name": "r-card",
            "@type": "Card",
            "place": {"id": str(site.pk)},
            "resourceCharacteristic": [{"name": "position", "value": "1"}],
            "resourceRelationship": [
                {"relationshipType": "isContainedIn", "resource": {"id": str(router.pk)}}
            ],
        }
    )
    assert card.status_code == 201, card.data
    assert card.data["@type"] == "Card"
    assert card.data["place"]["name"] == "Hub"
    port = post(
        {
            "name": "r-port",
            "@type": "Port",
            "resourceCharacteristic": [
                {"name": "capacityMbps", "value": 10000},
                {"name": "position", "value": "1"},
            ],
            "resourceRelationship": [{"resource": {"id": card.data["id"]}}],
        }
    )
    assert port.status_code == 201, port.data
    assert port.data["place"]["name"] == "Hub"  # a part is where its parent is
    gnb_port = services.port_create(parent=gnb, position="1", capacity_mbps=1000)
    link = post(
        {
            "name": "mw-1",
            "@type": "Link",
            "resourceCharacteristic": [{"name": "medium", "value": "microwave"}],
            "resourceRelationship": [
                {"relationshipType": "aEnd", "resource": {"id": str(gnb_port.pk)}},
                {"relationshipType": "zEnd", "resource": {"id": port.data["id"]}},
            ],
        }
    )
    assert link.status_code == 201, link.data
    created = Link.objects.get(name="mw-1")
    assert (created.medium, created.resource_kind, created.a_device_id, created.z_device_id) == (
        "microwave",
        "microwaveLink",
        gnb.pk,
        router.pk,
    )
    assert link.data["@type"] == "Link"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "l", "@type": "Link"}, "resourceRelationship"),
        (
            {
                "name": "l",
                "@type": "Link",
                "resourceRelationship": [{"relationshipType": "aEnd", "resource": {"id": "0"}}],
            },
            "resourceRelationship[0].resource.id",
        ),
        ({"name": "c", "@type": "Card", "place": {"id": "0"}}, "place.id"),
        (
            {
                "name": "c",
                "@type": "Card",
                "resourceCharacteristic": [{"name": "resourceKind", "value": "vlan"}],
            },
            "resourceCharacteristic.resourceKind",
        ),
    ],
)
def test_bad_bodies_name_the_field_and_write_nothing(noc_api, body, field):
    before = Resource.objects.count()
    response = noc_api.post(RESOURCES, body, format="json")
    assert response.status_code == 400, response.data
    assert list(response.data["errors"]) == [field]
    assert Resource.objects.count() == before


def test_admin_lists_and_edits_resources_and_links(admin_client):
    span = build_span()
    for path in ("resource", "link"):
        page = admin_client.get(f"/admin/inventory/{path}/")
        assert page.status_code == 200, path
    assert b"cable-0" in admin_client.get("/admin/inventory/link/").content
    link_page = admin_client.get(f"/admin/inventory/link/{span['link'].pk}/change/")
    assert link_page.status_code == 200
    assert b"a_device" in link_page.content
    vlans = admin_client.get("/admin/inventory/resource/?q=11&resource_kind__exact=vlan")
    assert b"vlans-0/vlan-11" in vlans.content
