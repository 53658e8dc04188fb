"""Service paths (inventory.paths): kept when bindings and topology change; a failure takes a
service down when every path of a leg meets it, and degrades it when a path survives."""

import pytest

from assurance.tests.factories import subscribe
from inventory import paths
from inventory.choices import BindingState, LinkMedium
from inventory.models import ServicePath, ServiceResource
from inventory.services import cable_create, duct_create, link_create
from inventory.tests.factories import GnbFactory, RouterFactory, SliceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def net():
    core, router = RouterFactory(name="CORE"), RouterFactory(name="R1")
    duct = duct_create(name="DUCT")
    trunk = cable_create(name="TRUNK", duct=duct)
    uplink = link_create(name="R1-UP", a_end=router, z_end=core, cable=trunk)
    gnb = GnbFactory(name="G1")
    link_create(name="G1-R1", a_end=gnb, z_end=router)
    return {
        "core": core,
        "router": router,
        "duct": duct,
        "trunk": trunk,
        "uplink": uplink,
        "gnb": gnb,
    }


def rows(service) -> set[tuple[int, int, int]]:
    return set(
        ServicePath.objects.filter(service=service).values_list(
            "leg_id", "path_number", "resource_id"
        )
    )


def test_a_path_runs_from_the_holds_up_to_the_core(net):
    cell = SliceFactory(parent=net["gnb"])
    sub = subscribe(cell, through_rfs=True)
    # Rebuilt from its resource-facing child: the customer-facing service's rows, counted.
    written = paths.service_paths_rebuild([sub.service.children.get().pk])
    assert written == len(rows(sub.service)) > 0
    on_path = {resource for _, _, resource in rows(sub.service)}
    for name in ("gnb", "router", "core", "trunk", "duct", "uplink"):
        assert net[name].pk in on_path
    assert cell.pk in on_path
    # One leg (the gNB), one path.
    assert {(leg, number) for leg, number, _ in rows(sub.service)} == {(net["gnb"].pk, 1)}


def test_a_parent_chain_that_loops_in_bad_data_ends(net):
    # The core in a chassis that, wrongly, sits in the core: the walk up stops all the same.
    chassis = RouterFactory(name="CHASSIS", parent=net["core"])
    type(chassis).objects.filter(pk=net["core"].pk).update(parent=chassis)
    sub = subscribe(net["gnb"])

    assert paths.service_paths_rebuild([sub.service.pk]) == len(rows(sub.service))
    on_path = {resource for _, _, resource in rows(sub.service)}
    assert {net["core"].pk, chassis.pk, net["router"].pk} <= on_path


def test_a_second_uplink_adds_a_path_and_a_failure_of_one_degrades(net, django_assert_num_queries):
    sub = subscribe(net["gnb"])
    paths.service_paths_rebuild([sub.service.pk])
    assert paths.path_impact([net["trunk"].pk]) == {sub.service.pk: "down"}
    # Dual-homing: a microwave link from the gNB straight to the core (kept by link_create).
    microwave = link_create(
        name="G1-MW", a_end=net["gnb"], z_end=net["core"], medium=LinkMedium.MICROWAVE
    )
    assert {number for _, number, _ in rows(sub.service)} == {1, 2}
    with django_assert_num_queries(1):
        assert paths.path_impact([net["trunk"].pk]) == {sub.service.pk: "degraded"}
    assert paths.path_impact([net["trunk"].pk, microwave.pk]) == {sub.service.pk: "down"}
    # What every path shares takes it down alone.
    assert paths.path_impact([net["gnb"].pk]) == {sub.service.pk: "down"}
    assert paths.path_impact([net["core"].pk]) == {sub.service.pk: "down"}


def test_a_released_hold_leaves_the_paths(net):
    kept, released = subscribe(net["gnb"]), subscribe(net["gnb"])
    ServiceResource.objects.filter(service=released.service).update(state=BindingState.RELEASED)
    paths.service_paths_rebuild()
    assert rows(kept.service)
    assert not rows(released.service)
    assert paths.path_impact([net["trunk"].pk]) == {kept.service.pk: "down"}


def test_each_leg_counts_alone(net):
    """A service held on two devices is down when either loses every path."""
    other = GnbFactory(name="G2")
    link_create(name="G2-CORE", a_end=other, z_end=net["core"])
    sub = subscribe(net["gnb"], other)
    paths.service_paths_rebuild([sub.service.pk])
    assert {leg for leg, _, _ in rows(sub.service)} == {net["gnb"].pk, other.pk}
    assert paths.path_impact([net["trunk"].pk]) == {sub.service.pk: "down"}
    assert paths.path_impact([other.pk]) == {sub.service.pk: "down"}
