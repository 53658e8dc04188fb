"""Feasibility of enterprise access per site, and reserving what it checked."""

import threading

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from catalog.tests.factories import ServiceSpecificationFactory
from inventory import services
from inventory.choices import BindingState, ServiceState
from inventory.models import Resource, Service, ServiceResource, Site
from inventory.services import SiteDemand
from inventory.tests.enterprise import enterprise_network

pytestmark = pytest.mark.django_db


def _service(name="VPN site") -> Service:
    return services.service_create(
        service_specification=ServiceSpecificationFactory(), characteristics={}, by="test"
    )


def _reasons(answers):
    return [(a.site_id, [code for code, _ in a.reasons]) for a in answers]


def test_a_site_with_a_free_port_and_bandwidth_is_feasible():
    network = enterprise_network(sites=2)
    first, second = network.sites
    answers = services.feasibility_check([SiteDemand(first.pk, 500), SiteDemand(second.pk, 1000)])
    assert _reasons(answers) == [(first.pk, []), (second.pk, [])]
    assert answers[0].edge_router == network.edge_routers[first.pk]
    assert answers[0].route == [network.uplinks[first.pk].pk]


def test_each_site_says_why_it_is_not_feasible():
    network = enterprise_network(sites=3, access_ports=1, port_mbps=1000, uplink_mbps=800)
    no_port, short_link, fine = network.sites
    # The only port of the first PE is taken by another customer's access.
    services.access_reserve(holders={_service(): SiteDemand(no_port.pk, 100)})
    lonely = Site.objects.create(region=network.region, name="E-NO-PE")
    answers = services.feasibility_check(
        [
            SiteDemand(no_port.pk, 100),
            SiteDemand(short_link.pk, 1000),
            SiteDemand(lonely.pk, 100),
            SiteDemand(987654, 100),
            SiteDemand(fine.pk, 800),
        ]
    )
    assert _reasons(answers) == [
        (no_port.pk, ["noFreePort"]),
        (short_link.pk, ["insufficientBandwidth"]),
        (lonely.pk, ["noEdgeRouter"]),
        (987654, ["unknownSite"]),
        (fine.pk, []),
    ]
    assert (
        answers[0].message == f"Site E-SITE-1 ({no_port.pk}): PE-E-1 has no free port of 100 Mbps."
    )
    assert answers[1].message == (
        f"Site E-SITE-2 ({short_link.pk}): link PE-E-2-UPLINK lacks 200 Mbps "
        "(for 1000 Mbps from PE-E-2 to the core)."
    )
    assert answers[2].message == f"Site E-NO-PE ({lonely.pk}) has no edge router (PE)."


def test_a_pe_whose_uplinks_only_loop_back_has_no_route_to_the_core():
    network = enterprise_network(sites=1)
    (site,) = network.sites
    # The "core" is uplinked back to the PE: a ring with no end, so no link can be checked.
    core_card = network.core.children.get(resource_kind="card")
    pe_card = network.edge_routers[site.pk].children.get(resource_kind="card")
    services.link_create(
        name="CORE-BACK-TO-PE",
        a_end=services.port_create(parent=core_card, position="90", capacity_mbps=10_000),
        z_end=services.port_create(parent=pe_card, position="90", capacity_mbps=10_000),
    )

    (answer,) = services.feasibility_check([SiteDemand(site.pk, 100)])

    assert [code for code, _ in answer.reasons] == ["noRouteToCore"]
    assert answer.message == f"Site E-SITE-1 ({site.pk}): PE-E-1 has no route to the core."


def test_sites_of_one_request_share_ports_and_links():
    network = enterprise_network(sites=1, access_ports=2, uplink_mbps=1500)
    (site,) = network.sites
    answers = services.feasibility_check(
        [SiteDemand(site.pk, 1000), SiteDemand(site.pk, 500), SiteDemand(site.pk, 100)]
    )
    assert _reasons(answers) == [
        (site.pk, []),
        (site.pk, []),
        (site.pk, ["noFreePort", "insufficientBandwidth"]),
    ]


def test_reservations_on_a_link_count_against_it():
    network = enterprise_network(sites=1, access_ports=3, uplink_mbps=1000)
    (site,) = network.sites
    uplink = network.uplinks[site.pk]
    other = _service()
    ServiceResource.objects.create(service=other, resource=uplink, capacity_mbps=600)
    assert _reasons(services.feasibility_check([SiteDemand(site.pk, 500)])) == [
        (site.pk, ["insufficientBandwidth"])
    ]
    ServiceResource.objects.filter(service=other).update(state=BindingState.RELEASED)
    assert _reasons(services.feasibility_check([SiteDemand(site.pk, 500)])) == [(site.pk, [])]


def test_the_check_reads_in_a_fixed_number_of_queries():
    def queries(sites: int) -> int:
        network = enterprise_network(
            sites=sites, tag=f"Q{sites}", route_targets=0, prefix=f"10.{sites}.0.0/24"
        )
        demands = [SiteDemand(site.pk, 100) for site in network.sites]
        with CaptureQueriesContext(connection) as captured:
            services.feasibility_check(demands)
        return len(captured)

    assert queries(1) == queries(6)


def test_reserve_binds_port_pe_links_vlan_address_and_terminate_gives_them_back():
    network = enterprise_network(sites=1, access_ports=1)
    (site,) = network.sites
    holder = _service()
    (access,) = services.access_reserve(holders={holder: SiteDemand(site.pk, 300)})
    assert access.port_id == network.access_ports[site.pk][0].pk
    assert access.edge_router == network.edge_routers[site.pk]
    assert access.link_ids == [network.uplinks[site.pk].pk]
    assert access.vlan.value == "100"
    assert access.address.value == "10.200.0.1"
    held = ServiceResource.objects.filter(service=holder).exclude(state=BindingState.RELEASED)
    assert sorted(held.values_list("resource__resource_kind", "capacity_mbps")) == [
        ("fibreLink", 300),
        ("ipAddress", 0),
        ("port", 300),
        ("router", 300),
        ("vlan", 0),
    ]
    holder.refresh_from_db()
    assert holder.state == ServiceState.RESERVED
    # Reserving again (the step delivered twice) holds the same, nothing more.
    services.access_reserve(holders={holder: SiteDemand(site.pk, 300)})
    assert held.count() == 5
    assert _reasons(services.feasibility_check([SiteDemand(site.pk, 100)])) == [
        (site.pk, ["noFreePort"])
    ]
    services.services_terminate(services=[holder], by="test")
    assert held.count() == 0
    assert _reasons(services.feasibility_check([SiteDemand(site.pk, 100)])) == [(site.pk, [])]
    assert Resource.objects.get(pk=access.vlan.pk).resource_status == "available"


def test_a_reservation_that_does_not_fit_holds_nothing():
    network = enterprise_network(sites=2, access_ports=1, uplink_mbps=500)
    ok, short = network.sites
    first, second = _service(), _service()
    with pytest.raises(services.NotFeasible) as refused:
        services.access_reserve(
            holders={first: SiteDemand(ok.pk, 400), second: SiteDemand(short.pk, 600)}
        )
    assert refused.value.message.startswith(f"Site E-SITE-2 ({short.pk}): link PE-E-2-UPLINK")
    assert refused.value.field == "place"
    assert not ServiceResource.objects.filter(service__in=[first, second]).exists()


def test_access_adjust_grows_within_the_link_and_refuses_beyond():
    network = enterprise_network(sites=1, access_ports=1, port_mbps=1000, uplink_mbps=1000)
    (site,) = network.sites
    holder = _service()
    services.access_reserve(holders={holder: SiteDemand(site.pk, 300)})
    services.access_adjust(service=holder, bandwidth=900)
    assert set(
        ServiceResource.objects.filter(service=holder, capacity_mbps__gt=0).values_list(
            "capacity_mbps", flat=True
        )
    ) == {900}
    with pytest.raises(services.NotFeasible, match="Port PE-E-1/0/2 runs at 1000 Mbps"):
        services.access_adjust(service=holder, bandwidth=2000)


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_never_share_a_port_or_overbook_a_link():
    network = enterprise_network(sites=1, access_ports=6, uplink_mbps=1000)
    (site,) = network.sites
    holders = [_service() for _ in range(6)]
    barrier = threading.Barrier(len(holders))
    outcomes = []

    def reserve(holder):
        try:
            barrier.wait()
            services.access_reserve(holders={holder: SiteDemand(site.pk, 300)})
            outcomes.append("reserved")
        except services.NotFeasible:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=reserve, args=(holder,)) for holder in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["reserved"] * 3
    held = ServiceResource.objects.exclude(state=BindingState.RELEASED)
    uplink = network.uplinks[site.pk]
    assert sum(held.filter(resource=uplink).values_list("capacity_mbps", flat=True)) == 900
    ports = list(held.filter(resource__resource_kind="port").values_list("resource_id", flat=True))
    assert len(ports) == len(set(ports)) == 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_vpns_on_the_same_pes_never_share_a_port_nor_deadlock():
    # Each VPN takes a port on both PEs and bandwidth on both uplinks; half of them name the
    # sites the other way round, so only locking in id order keeps them from deadlocking.
    network = enterprise_network(sites=2, access_ports=3, uplink_mbps=1000)
    first, second = network.sites
    vpns = [(_service(), _service()) for _ in range(4)]
    barrier = threading.Barrier(len(vpns))
    outcomes = []

    def reserve(number, sites):
        demands = [SiteDemand(first.pk, 300), SiteDemand(second.pk, 300)][:: 1 - 2 * (number % 2)]
        try:
            barrier.wait()
            services.access_reserve(holders=dict(zip(sites, demands, strict=True)))
            outcomes.append("reserved")
        except services.NotFeasible:
            outcomes.append("refused")
        except Exception as error:  # a deadlock: the test says which
            outcomes.append(repr(error))
        finally:
            close_old_connections()

    threads = [threading.Thread(target=reserve, args=each) for each in enumerate(vpns)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] + ["reserved"] * 3
    ports = ServiceResource.objects.filter(resource__resource_kind="port", is_exclusive=True)
    assert ports.count() == ports.values("resource_id").distinct().count() == 6
    for uplink in network.uplinks.values():
        carried = ServiceResource.objects.filter(resource_id=uplink.pk).values_list(
            "capacity_mbps", flat=True
        )
        assert sum(carried) == 900


def test_routes_to_the_core_are_every_loop_free_path_fewest_hops_first():
    # PE -> AGG-1 -> CORE and PE -> AGG-2 -> AGG-1 -> CORE; AGG-1 -> PE only loops back.
    network = enterprise_network(sites=1)
    pe = next(iter(network.edge_routers.values()))
    core_card = network.core.children.get(resource_kind="card")

    def device(name):
        router = services.equipment_create(
            name=name, resource_kind="router", site=network.sites[0], capacity_mbps=10**5
        )
        return services.card_create(equipment=router, slot="0")

    first, second = device("AGG-1"), device("AGG-2")
    pe_card = pe.children.get(resource_kind="card")

    def link(name, a_card, z_card, position):
        a_end = services.port_create(parent=a_card, position=f"9{position}", capacity_mbps=10**5)
        z_end = services.port_create(parent=z_card, position=f"8{position}", capacity_mbps=10**5)
        return services.link_create(name=name, a_end=a_end, z_end=z_end, capacity_mbps=10**5).pk

    pe_first = link("PE-AGG-1", pe_card, first, 1)
    pe_second = link("PE-AGG-2", pe_card, second, 2)
    second_first = link("AGG-2-AGG-1", second, first, 3)
    link("AGG-1-PE", first, pe_card, 4)
    first_core = link("AGG-1-CORE", first, core_card, 5)
    uplink = network.uplinks[network.sites[0].pk].pk
    assert services.feasibility.routes_to_core({pe.pk}) == {
        pe.pk: [[uplink], [pe_first, first_core], [pe_second, second_first, first_core]]
    }
