"""The demo's outside plant and pools: uplinks toward the core, ring cables, repeatable."""

import random

import pytest

from assurance.tests.factories import subscribe
from catalog.demo import ensure_catalog
from inventory import demo_network
from inventory.demo import ensure_network
from inventory.models import Link, Resource
from inventory.topology import service_path, services_depending_on

pytestmark = pytest.mark.django_db


def test_demo_plant_uplinks_every_site_to_its_core_and_is_repeatable():
    ensure_catalog()
    ensure_network(random.Random(7), 10)  # 5 regions x 8 sites

    gnb = Resource.objects.get(name="GNB-NOR-YOR-001")
    uplink = Link.objects.select_related("z_device", "parent__parent").get(a_device=gnb)
    assert (uplink.name, uplink.z_device.name, uplink.parent.name) == (
        "GNB-NOR-YOR-001-UPLINK",
        "ROUTER-NOR-YOR-001",
        "CABLE-NOR-YOR-001-ACCESS",
    )
    trunk = Link.objects.select_related("z_device", "parent__parent").get(
        a_device__name="ROUTER-NOR-YOR-001"
    )
    assert (trunk.z_device.name, trunk.parent.name, trunk.parent.parent.name) == (
        "CORE-NORTH",
        "CABLE-NORTH-RING-1",
        "DUCT-NORTH-RING-1",
    )
    assert Link.objects.filter(parent=trunk.parent).count() == 4  # a ring of four sites
    assert Link.objects.count() == 40 * 3  # gNB, OLT and router of every site
    assert set(
        Resource.objects.filter(resource_kind__in=["switch", "coreFunction"]).values_list(
            "name", flat=True
        )
    ) >= {"SW-NORTH", "UPF-NORTH"}
    pools = dict(
        Resource.objects.filter(name__in=["IP-NORTH", "VLANS-NORTH", "SLICES-EMBB"]).values_list(
            "name", "value"
        )
    )
    assert pools == {"IP-NORTH": "10.3.0.0/22", "VLANS-NORTH": "100-599", "SLICES-EMBB": "1"}

    # Fibre: each OLT's line card has its PON ports; each site router is a BNG with a VLAN pool
    # and a /24 of subscriber addresses, the first router the first /24.
    olt = Resource.objects.get(name="OLT-NOR-YOR-001")
    assert list(
        Resource.objects.filter(parent__parent=olt, characteristics__portType="pon")
        .order_by("pk")
        .values_list("name", flat=True)
    ) == [f"OLT-NOR-YOR-001/1/{n}" for n in range(1, 9)]
    assert Resource.objects.filter(characteristics__portType="pon").count() == 40 * 8
    routers = demo_network.site_routers()
    bng_pools = dict(
        Resource.objects.filter(
            parent=routers[0], resource_kind__in=["vlanPool", "ipPrefix"]
        ).values_list("resource_kind", "value")
    )
    assert bng_pools == {"vlanPool": "1000-1255", "ipPrefix": "100.64.0.0/24"}
    assert Resource.objects.filter(parent__parent=routers[-1], resource_kind="vlan").count() == 256
    assert (
        Resource.objects.filter(parent__parent=routers[-1], resource_kind="ipAddress").count()
        == 254
    )

    service = subscribe(gnb).service
    assert services_depending_on([trunk.parent_id]).filter(pk=service.pk).exists()
    assert {"CORE-NORTH", "CABLE-NORTH-RING-1"} <= {r.name for r in service_path(service.pk)}

    count = Resource.objects.count()
    assert demo_network.ensure_plant() == {
        "equipment": 0,
        "cards": 0,
        "ports": 0,
        "ducts": 0,
        "cables": 0,
        "links": 0,
    }
    assert demo_network.ensure_pools() == 0
    assert Resource.objects.count() == count
