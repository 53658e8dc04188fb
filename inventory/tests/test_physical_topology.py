"""Physical inventory (cards, ports, cables, links) and the impact walks over it."""

import pytest

from assurance.tests.factories import subscribe
from crm.tests.factories import CustomerFactory
from inventory import selectors, services
from inventory.choices import BindingState
from inventory.models import Link, Resource, ServiceResource
from inventory.tests.factories import GnbFactory, RouterFactory, SiteFactory, SliceFactory
from inventory.topology import (
    resources_impacted,
    service_path,
    services_depending_on,
)
from telco.exceptions import DomainError

RESOURCES = "/tmf-api/resourceInventoryManagement/v4/resource"

pytestmark = pytest.mark.django_db


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def port_on(equipment: Resource, number: int = 1, capacity: int = 10_000) -> Resource:
    card = Resource.objects.filter(parent=equipment, position="1").first() or services.card_create(
        equipment=equipment, slot="1"
    )
    return services.port_create(parent=card, position=str(number), capacity_mbps=capacity)


def uplink(down: Resource, up: Resource, *, cable=None, number: int = 1, medium="fibre") -> Link:
    """A link from a port of `down` to a port of `up` (toward the core)."""
    return services.link_create(
        name=f"{down.name}->{up.name}",
        a_end=port_on(down, number),
        z_end=port_on(up, 100 + Resource.objects.filter(parent__parent=up).count()),
        medium=medium,
        cable=cable,
    )


@pytest.fixture
def network():
    """core <- agg (fibre, in cable-1 in duct-1) <- gnb-1, gnb-2 (fibre in cable-2), gnb-3
    (microwave); a slice on each gNB carries one customer's service."""
    core, agg = RouterFactory(name="core"), RouterFactory(name="agg")
    gnbs = [GnbFactory(name=f"gnb-{n}") for n in (1, 2, 3)]
    duct = services.duct_create(name="duct-1")
    trunk = services.cable_create(name="cable-1", duct=duct)
    access = services.cable_create(name="cable-2")
    backbone = uplink(agg, core, cable=trunk)
    first = uplink(gnbs[0], agg, cable=access)
    uplink(gnbs[1], agg, cable=access)
    uplink(gnbs[2], agg, medium="microwave")
    slices = [SliceFactory(parent=gnb, name=f"slice-{gnb.name}") for gnb in gnbs]
    customers = [
        CustomerFactory(segment=segment) for segment in ("enterprise", "consumer", "consumer")
    ]
    subscriptions = [
        subscribe(gnb, slice_, customer=customer)
        for gnb, slice_, customer in zip(gnbs, slices, customers, strict=True)
    ]
    return {
        "core": core,
        "agg": agg,
        "gnbs": gnbs,
        "duct": duct,
        "trunk": trunk,
        "access": access,
        "backbone": backbone,
        "first": first,
        "services": [s.service.pk for s in subscriptions],
        "slices": slices,
    }


def test_parts_and_links_record_their_place_and_devices(network):
    card = Resource.objects.get(parent=network["gnbs"][0], resource_kind="card")
    port = Resource.objects.get(parent=card)
    assert (card.position, card.site_id) == ("1", network["gnbs"][0].site_id)
    assert (port.name, port.capacity_mbps) == ("gnb-1/1/1", 10_000)
    link = network["first"]
    assert (link.a_end_id, link.a_device_id, link.z_device_id) == (
        port.pk,
        network["gnbs"][0].pk,
        network["agg"].pk,
    )
    assert (link.parent_id, link.resource_kind, link.category) == (
        network["access"].pk,
        "fibreLink",
        "physical",
    )
    assert network["trunk"].parent_id == network["duct"].pk


def test_physical_rules_refuse_bad_parts_and_links(network):
    gnb = network["gnbs"][0]
    with pytest.raises(DomainError, match="already has something in '1'"):
        services.card_create(equipment=gnb, slot="1", name="second card")
    with pytest.raises(DomainError, match="already has a link") as caught:
        services.link_create(
            name="again", a_end=network["first"].a_end, z_end=port_on(network["core"], 7)
        )
    assert caught.value.field == "a_end"
    with pytest.raises(DomainError, match="microwave link runs in no cable"):
        services.link_create(
            name="mw",
            a_end=port_on(gnb, 2),
            z_end=port_on(network["core"], 8),
            medium="microwave",
            cable=network["access"],
        )
    with pytest.raises(DomainError, match="is not a cable"):
        services.link_create(
            name="x", a_end=port_on(gnb, 3), z_end=port_on(network["core"], 9), cable=gnb
        )
    with pytest.raises(DomainError, match="equipment role"):
        services.equipment_create(name="odd", resource_kind="slice", site=SiteFactory())
    assert not Link.objects.filter(name__in=["again", "mw", "x"]).exists()


def test_cutting_a_cable_takes_down_everything_downstream(network, django_assert_num_queries):
    services_ = network["services"]
    with django_assert_num_queries(1):
        assert ids(services_depending_on([network["access"].pk])) == set(services_[:2])
    # The trunk carries the aggregation router's uplink: every gNB behind it, microwave too.
    assert ids(services_depending_on([network["trunk"].pk])) == set(services_)
    assert ids(services_depending_on([network["duct"].pk])) == set(services_)
    # A link alone, or the upstream port of one.
    assert ids(services_depending_on([network["first"].pk])) == {services_[0]}
    assert ids(services_depending_on([network["first"].z_end_id])) == {services_[0]}
    # The core router has nothing bound to it; its failure still cuts all three.
    assert ids(services_depending_on([network["core"].pk])) == set(services_)
    assert ids(services_depending_on([network["gnbs"][2].pk])) == {services_[2]}


def test_resources_impacted_are_beneath_and_downstream(network):
    cut = ids(resources_impacted([network["access"].pk]))
    gnb_one, gnb_two = network["gnbs"][:2]
    expected = {network["access"].pk, *ids(Link.objects.filter(parent=network["access"]))}
    for gnb in (gnb_one, gnb_two):
        expected |= {gnb.pk, *ids(Resource.objects.filter(parent=gnb))}
        expected |= ids(Resource.objects.filter(parent__parent=gnb))
    assert cut == expected
    assert network["agg"].pk not in cut


def test_site_impact_is_every_equipment_there_and_downstream(network):
    site = network["agg"].site
    assert ids(services_depending_on([], site_ids=[site.pk])) == set(network["services"])
    assert ids(services_depending_on([], site_ids=[network["gnbs"][1].site_id])) == {
        network["services"][1]
    }


def test_service_path_goes_up_the_uplinks_to_the_core(network, django_assert_num_queries):
    service = network["services"][0]
    with django_assert_num_queries(1):
        path = list(service_path(service))
        sites = {resource.site.name for resource in path if resource.site_id}
    names = {resource.name for resource in path}
    assert names == {
        "slice-gnb-1",
        "gnb-1",
        "gnb-1/1",
        "gnb-1/1/1",
        "gnb-1->agg",
        "cable-2",
        "agg/1",
        "agg/1/101",
        "agg",
        "agg/1/1",
        "agg->core",
        "cable-1",
        "duct-1",
        "core/1",
        "core/1/100",
        "core",
    }
    assert sites == {network[name].site.name for name in ("agg", "core")} | {
        network["gnbs"][0].site.name
    }


def test_impact_summary_counts_customers_by_segment_in_fixed_queries(
    network, django_assert_num_queries
):
    with django_assert_num_queries(1):
        summary = selectors.impact_summary([network["trunk"].pk])
    assert summary["service_count"] == 3
    assert summary["customer_count"] == 3
    assert summary["customers_by_segment"] == {"consumer": 2, "enterprise": 1}
    assert ids(summary["services"]) == set(network["services"])
    # Growing the cut does not grow the query count.
    gnb = network["gnbs"][0]
    for _ in range(5):
        subscribe(SliceFactory(parent=gnb), customer=CustomerFactory(segment="smallBusiness"))
    with django_assert_num_queries(1):
        summary = selectors.impact_summary([], site_ids=[network["agg"].site_id])
    assert summary["customers_by_segment"] == {"consumer": 2, "enterprise": 1, "smallBusiness": 5}
    site_down = resources_impacted([], site_ids=[network["agg"].site_id])
    assert summary["resource_count"] == site_down.count() > len(network["gnbs"])
    empty = selectors.impact_summary([network["core"].pk + 10_000])
    assert (empty["service_count"], empty["customer_count"], empty["resource_count"]) == (0, 0, 0)
    assert empty["customers_by_segment"] == {}


def test_utilisation_of_ports_cells_and_links(network, noc_api, django_assert_num_queries):
    gnb = network["gnbs"][0]
    ServiceResource.objects.filter(resource=gnb).update(capacity_mbps=2500)
    port = network["first"].a_end
    subscribe(port)
    ServiceResource.objects.filter(resource=port).update(capacity_mbps=1000)
    subscribe(port, binding_state=BindingState.RELEASED)

    def utilisation(kind: str) -> dict[str, dict]:
        """TMF639: each resource's capacity characteristics by name."""
        body = noc_api.get(RESOURCES, {"resourceKind": kind, "limit": 100}).data
        return {
            item["name"]: {c["name"]: c["value"] for c in item["resourceCharacteristic"]}
            for item in body
        }

    cells = utilisation("gnb")
    assert (cells["gnb-1"]["usedCapacityMbps"], cells["gnb-1"]["utilisationPercent"]) == (2500, 25)
    assert (cells["gnb-2"]["usedCapacityMbps"], cells["gnb-2"]["freeCapacityMbps"]) == (0, 10_000)
    ports = utilisation("port")
    assert (ports["gnb-1/1/1"]["usedCapacityMbps"], ports["gnb-1/1/1"]["utilisationPercent"]) == (
        1000,
        10,
    )
    links = list(Link.objects.order_by("name"))
    assert [link.name for link in links][:2] == ["agg->core", "gnb-1->agg"]
    # What each link carries: the services downstream, each counted once.
    with django_assert_num_queries(1):
        load = selectors.link_load([link.pk for link in links])
    by_name = {link.name: load[link.pk] for link in links}
    # gnb-1 (2500 for its service) and its port (1000 for another); released holds do not count.
    assert by_name["gnb-1->agg"] == 3500
    assert by_name["gnb-2->agg"] == 0
    assert by_name["agg->core"] == 3500
