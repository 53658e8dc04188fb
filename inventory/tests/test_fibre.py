"""Fibre line reservations (`ftth_reserve`): concurrent orders never share an ONT id on a port,
a VLAN or an address, and an ONT serial serves one line at a time."""

import threading

import pytest
from django.db import connection

from catalog.tests.factories import ServiceSpecificationFactory
from inventory import services
from inventory.models import Resource
from inventory.tests.factories import fibre_access
from telco.exceptions import DomainError


def _lines(count: int) -> list:
    specification = ServiceSpecificationFactory(name="FTTH Access Service")
    return [
        services.service_create(service_specification=specification, characteristics={})
        for _ in range(count)
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_take_distinct_ont_ids_vlans_and_addresses():
    access = fibre_access(pon_ports=2)
    lines = _lines(6)
    start = threading.Barrier(len(lines))
    held, errors = {}, []

    def reserve(service) -> None:
        try:
            start.wait()
            bindings = services.ftth_reserve(service=service, bandwidth=500)
            held[service.pk] = {b.resource.resource_kind: b.resource for b in bindings}
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=reserve, args=(line,)) for line in lines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(held) == 6
    onts = list(Resource.objects.filter(resource_kind="ont"))
    # Never one ONT id twice on a port (the database would refuse it too), and each port's
    # ids are the lowest free ones, whichever way the threads spread over the two ports.
    by_port: dict[int, list[int]] = {}
    for ont in onts:
        by_port.setdefault(ont.parent_id, []).append(int(ont.position))
    assert len(onts) == 6
    assert set(by_port) <= {port.pk for port in access["pon_ports"]}
    assert {port: sorted(ids) for port, ids in by_port.items()} == {
        port: list(range(1, len(ids) + 1)) for port, ids in by_port.items()
    }
    assert len({kinds["vlan"].value for kinds in held.values()}) == 6
    assert len({kinds["ipAddress"].value for kinds in held.values()}) == 6
    assert {kinds["ont"].pk for kinds in held.values()} == {ont.pk for ont in onts}


@pytest.mark.django_db
def test_an_ont_serial_serves_one_line_and_a_bad_serial_is_refused():
    fibre_access()
    first, second, third = _lines(3)
    services.ftth_reserve(service=first, bandwidth=500, ont_serial="alcl0000beef")

    with pytest.raises(DomainError) as taken:
        services.ftth_reserve(service=second, bandwidth=500, ont_serial="ALCL0000BEEF")
    assert (taken.value.field, taken.value.message) == (
        "ontSerial",
        "ONT ALCL0000BEEF already serves another line.",
    )
    with pytest.raises(DomainError) as malformed:
        services.ftth_reserve(service=third, bandwidth=500, ont_serial="12345")
    assert malformed.value.field == "ontSerial"
    # Refused whole: the lines that failed hold nothing.
    assert services.held_bindings(second) == services.held_bindings(third) == []
    assert Resource.objects.filter(resource_kind="ont").count() == 1


@pytest.mark.django_db
def test_a_line_is_not_feasible_without_a_bng_behind_the_olt():
    access = fibre_access()
    access["vlan_pool"].delete()
    (line,) = _lines(1)
    with pytest.raises(services.FibreNotFeasible) as refused:
        services.ftth_reserve(service=line, bandwidth=500)
    assert refused.value.message == (
        f"{access['bng'].name}, the BNG of {access['olt'].name}, has no VLAN pool or no IP prefix."
    )
    assert not Resource.objects.filter(resource_kind="ont").exists()
