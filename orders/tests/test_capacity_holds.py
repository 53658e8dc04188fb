"""A feasible enterprise order holds what its capture checked (issue 13: "a feasible one
reserves what it checked"): an order captured next cannot take the same port or bandwidth, the
activation turns the holds into bindings, and an order that ends or never starts gives them
back."""

from datetime import timedelta

import pytest
import time_machine

from inventory import services as inventory_services
from inventory.models import CapacityHold, ServiceResource
from inventory.services import SiteDemand
from orders.models import ProductOrder
from orders.services import enterprise
from orders.tests import test_enterprise_vpn as vpn_tests
from orders.tests.test_ftth import run
from telco import clock
from telco.exceptions import DomainError

pytestmark = pytest.mark.django_db

ORDER = vpn_tests.ORDER
vpn = vpn_tests.vpn  # the fixture: three sites on their own PEs, two access ports each


def _take_one_port(vpn, site) -> None:
    """Another customer's access takes one of the site's two ports: one is left."""
    other = inventory_services.service_create(
        service_specification=vpn["offering"].product_specification.service_specifications.get(),
        characteristics={},
    )
    inventory_services.access_reserve(holders={other: SiteDemand(site.pk, 10)})


def _capture(agent_api, vpn, sites, bandwidth="100Mbps"):
    return agent_api.post(
        ORDER,
        vpn_tests.order_body(vpn["offering"], vpn["account"], sites, bandwidth),
        format="json",
    )


def _holds(order_id) -> list[tuple[str, str, int]]:
    return sorted(
        CapacityHold.objects.filter(order_ref=f"productOrder:{order_id}").values_list(
            "site__name", "resource__resource_kind", "capacity_mbps"
        )
    )


def test_the_capture_holds_the_last_port_so_the_next_order_is_refused_naming_the_site(
    vpn, agent_api, lab
):
    first, last_port, third = vpn["network"].sites
    _take_one_port(vpn, last_port)

    accepted = _capture(agent_api, vpn, [first, last_port])
    assert accepted.status_code == 201, accepted.data
    assert _holds(accepted.data["id"]) == [
        ("E-SITE-1", "fibreLink", 100),
        ("E-SITE-1", "port", 100),
        ("E-SITE-2", "fibreLink", 100),
        ("E-SITE-2", "port", 100),
    ]
    # Before the first order is even started, the second cannot have the port it holds.
    refused = _capture(agent_api, vpn, [third, last_port])
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "productOrderItem[0].product.place[1]": [
            f"Not feasible: Site E-SITE-2 ({last_port.pk}): PE-E-2 has no free port of 100 Mbps."
        ]
    }
    assert ProductOrder.objects.count() == 1
    (answer,) = inventory_services.feasibility_check([SiteDemand(last_port.pk, 100)])
    assert answer.reasons[0][0] == "noFreePort"  # TMF645 checks count the hold too

    order = run(ProductOrder.objects.get(pk=accepted.data["id"]))
    assert order.state == "completed"
    assert _holds(order.pk) == []  # turned into the service's bindings
    ports = ServiceResource.objects.filter(
        resource__resource_kind="port", resource__parent__parent__site=last_port
    ).exclude(state="released")
    assert ports.count() == 2  # the other customer's and this order's: no third


def test_a_bandwidth_held_by_a_capture_is_not_offered_twice(vpn, agent_api, lab):
    network = vpn["network"]
    first, second, _ = network.sites
    # 1.5G uplinks: one 1G order fits, a second does not while the first holds its share.
    assert _capture(agent_api, vpn, [first], bandwidth="1Gbps").status_code == 201
    refused = _capture(agent_api, vpn, [first], bandwidth="1Gbps")
    assert refused.status_code == 400
    assert "link PE-E-1-UPLINK lacks 500 Mbps" in str(refused.json()["errors"])


def test_an_order_that_fails_gives_its_holds_back(vpn, agent_api, lab):
    first, last_port, _ = vpn["network"].sites
    _take_one_port(vpn, last_port)
    lab.fail(vpn["network"].edge_routers[last_port.pk].name, "permanent")
    response = _capture(agent_api, vpn, [first, last_port])
    order = run(ProductOrder.objects.get(pk=response.data["id"]))

    assert order.state == "failed"
    assert not CapacityHold.objects.exists()
    lab.heal(vpn["network"].edge_routers[last_port.pk].name)
    assert _capture(agent_api, vpn, [last_port]).status_code == 201


def test_a_hold_lapses_when_its_order_never_starts(vpn, agent_api, settings):
    settings.CAPACITY_HOLD_MINUTES = 30
    first, last_port, _ = vpn["network"].sites
    _take_one_port(vpn, last_port)
    with time_machine.travel(clock.now(), tick=False) as traveller:
        assert _capture(agent_api, vpn, [last_port]).status_code == 201
        assert _capture(agent_api, vpn, [last_port]).status_code == 400
        traveller.shift(timedelta(minutes=31))
        assert _capture(agent_api, vpn, [last_port]).status_code == 201


def test_a_port_taken_between_the_check_and_the_hold_refuses_the_order_naming_the_place(vpn):
    _, last_port, _ = vpn["network"].sites
    _take_one_port(vpn, last_port)
    field = "productOrderItem[0].product.place[0]"
    enterprise.capacity_hold(1, [(field, SiteDemand(last_port.pk, 100))])

    with pytest.raises(DomainError) as refused:
        enterprise.capacity_hold(2, [(field, SiteDemand(last_port.pk, 100))])
    assert refused.value.field == field
    assert "PE-E-2 has no free port of 100 Mbps" in refused.value.message
    assert _holds(2) == []
