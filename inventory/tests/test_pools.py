"""Logical pools: IP prefixes, VLANs, MSISDNs, SIMs, slices; each member allocated at most once."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from inventory import services
from inventory.choices import BindingState, ServiceState
from inventory.models import Resource, Service, ServiceResource
from inventory.services import PoolExhausted
from inventory.tests.factories import CustomerFacingServiceFactory, RouterFactory
from telco.exceptions import DomainError


def members(pool: Resource) -> list[str]:
    return list(pool.children.order_by("pk").values_list("value", flat=True))


@pytest.mark.django_db
def test_pools_hold_their_members():
    prefix = services.ip_prefix_create(name="lan-a", prefix="10.0.0.0/29")
    assert (prefix.resource_kind, prefix.value) == ("ipPrefix", "10.0.0.0/29")
    assert members(prefix) == [f"10.0.0.{n}" for n in range(1, 7)]
    vlans = services.vlan_pool_create(
        name="olt-vlans", first_vid=100, last_vid=103, device=RouterFactory()
    )
    assert members(vlans) == ["100", "101", "102", "103"]
    numbers = services.msisdn_range_create(name="msisdn-a", first="447700900000", count=3)
    assert members(numbers) == ["447700900000", "447700900001", "447700900002"]
    sims = services.sim_stock_create(
        name="sims-a", first_iccid="8944000000000000001", first_imsi="234150000000001", count=2
    )
    assert [(s.value, s.characteristics["imsi"]) for s in sims.children.order_by("pk")] == [
        ("8944000000000000001", "234150000000001"),
        ("8944000000000000002", "234150000000002"),
    ]
    slices = services.slice_pool_create(name="slices-a", sst=1, first_sd=0xA00000, count=2)
    assert members(slices) == ["1-a00000", "1-a00001"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("create", "field"),
    [
        (lambda: services.ip_prefix_create(name="p", prefix="10.0.0.1/24"), "prefix"),
        (lambda: services.ip_prefix_create(name="p", prefix="10.0.0.0/16"), "prefix"),
        (lambda: services.vlan_pool_create(name="v", first_vid=0, last_vid=10), "first_vid"),
        (lambda: services.vlan_pool_create(name="v", first_vid=4000, last_vid=4095), "first_vid"),
        (lambda: services.msisdn_range_create(name="m", first="44x", count=2), "first"),
        (
            lambda: services.sim_stock_create(
                name="s", first_iccid="1", first_imsi="234150000000001", count=1
            ),
            "first_iccid",
        ),
        (lambda: services.slice_pool_create(name="s", sst=300, first_sd=1, count=1), "sst"),
    ],
)
def test_bad_pools_are_refused(create, field):
    with pytest.raises(DomainError) as caught:
        create()
    assert caught.value.field == field
    assert Resource.objects.count() == 0


@pytest.mark.django_db
def test_identifiers_are_unique_across_pools():
    services.msisdn_range_create(name="m1", first="447700900000", count=5)
    with pytest.raises(DomainError, match="447700900004 is already in m1"):
        services.msisdn_range_create(name="m2", first="447700900004", count=5)
    services.sim_stock_create(
        name="s1", first_iccid="8944000000000000001", first_imsi="234150000000001", count=2
    )
    with pytest.raises(DomainError, match="IMSI 234150000000002 is taken"):
        services.sim_stock_create(
            name="s2", first_iccid="8944000000000000100", first_imsi="234150000000002", count=2
        )
    assert Resource.objects.filter(name__in=["m2", "s2"]).count() == 0
    # The database refuses what a service would not: the same S-NSSAI or IMSI twice.
    services.slice_pool_create(name="sl1", sst=1, first_sd=1, count=1)
    stray = Resource(name="stray", resource_kind="slice", category="logical", value="1-000001")
    with pytest.raises(IntegrityError), transaction.atomic():
        stray.save()
    stray = Resource(
        name="stray-sim",
        resource_kind="sim",
        category="logical",
        value="8944000000000000999",
        characteristics={"imsi": "234150000000001"},
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        stray.save()
    # VLAN ids repeat across pools, never within one.
    services.vlan_pool_create(name="v1", first_vid=10, last_vid=11)
    services.vlan_pool_create(name="v2", first_vid=10, last_vid=11)


@pytest.mark.django_db
def test_allocate_is_idempotent_and_release_gives_back():
    pool = services.msisdn_range_create(name="m", first="447700900000", count=2)
    first, second = CustomerFacingServiceFactory(), CustomerFacingServiceFactory()

    number = services.logical_allocate(kind="msisdn", service=first, pool=pool)
    assert number.value == "447700900000"
    assert (number.resource_status, number.usage_state) == ("reserved", "busy")
    # A retried step for the same service gets the same number, not a second one.
    assert services.logical_allocate(kind="msisdn", service=first) == number
    assert services.logical_allocate(kind="msisdn", service=second).value == "447700900001"
    with pytest.raises(PoolExhausted, match="No free msisdn is left in pool m"):
        services.logical_allocate(kind="msisdn", service=CustomerFacingServiceFactory(), pool=pool)

    assert services.logical_release(service=first, kind="msisdn") == 1
    number.refresh_from_db()
    assert (number.resource_status, number.usage_state) == ("available", "idle")
    third = CustomerFacingServiceFactory()
    assert services.logical_allocate(kind="msisdn", service=third) == number
    assert ServiceResource.objects.filter(resource=number, state=BindingState.RELEASED).count() == 1


@pytest.mark.django_db
def test_a_released_member_comes_back_once_the_pool_has_come_round():
    pool = services.msisdn_range_create(name="m", first="447700900000", count=4)

    def allocate() -> tuple[object, str]:
        service = CustomerFacingServiceFactory()
        return service, services.logical_allocate(kind="msisdn", service=service, pool=pool).value

    (first, a), (_, b), (_, c) = allocate(), allocate(), allocate()
    assert [a, b, c] == ["447700900000", "447700900001", "447700900002"]
    services.logical_release(service=first, kind="msisdn")
    # Next after the last one taken, not the one just given back...
    assert allocate()[1] == "447700900003"
    # ...which comes back when the pool's end is reached.
    assert allocate()[1] == "447700900000"
    with pytest.raises(PoolExhausted):
        allocate()


@pytest.mark.django_db
def test_allocate_refuses_wrong_kind_or_pool():
    service = CustomerFacingServiceFactory()
    prefix = services.ip_prefix_create(name="lan", prefix="10.1.0.0/30")
    with pytest.raises(DomainError) as caught:
        services.logical_allocate(kind="gnb", service=service)
    assert caught.value.field == "kind"
    with pytest.raises(DomainError) as caught:
        services.logical_allocate(kind="vlan", service=service, pool=prefix)
    assert caught.value.field == "pool"
    with pytest.raises(PoolExhausted):
        services.logical_allocate(kind="sim", service=service)
    address = services.logical_allocate(kind="ipAddress", service=service, pool=prefix)
    assert address.value == "10.1.0.1"


@pytest.mark.django_db
def test_releasing_services_returns_their_pool_members():
    pool = services.vlan_pool_create(name="v", first_vid=7, last_vid=7)
    service = CustomerFacingServiceFactory(state=ServiceState.RESERVED, product__status="created")
    vlan = services.logical_allocate(kind="vlan", service=service)
    services.services_release(services=[service], reason="activation failed")
    vlan.refresh_from_db()
    assert (vlan.resource_status, vlan.usage_state) == ("available", "idle")
    assert services.logical_allocate(kind="vlan", service=CustomerFacingServiceFactory(), pool=pool)


@pytest.mark.django_db(transaction=True)
def test_concurrent_allocations_never_share_a_member():
    """Twelve orders at once against a pool of eight: eight distinct numbers, four refusals."""
    pool = services.msisdn_range_create(name="race", first="447700900000", count=8)
    service_ids = [CustomerFacingServiceFactory().pk for _ in range(12)]
    start = threading.Barrier(len(service_ids))
    got, refused, failed = [], [], []

    def order(service_id: int) -> None:
        try:
            service = Service.objects.get(pk=service_id)
            start.wait()
            resource = services.logical_allocate(kind="msisdn", service=service, pool=pool)
            got.append(resource.value)
        except PoolExhausted as error:
            refused.append(error.message)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failed.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=order, args=(pk,)) for pk in service_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failed == []
    assert sorted(got) == [f"4477009000{n:02d}" for n in range(8)]
    assert refused == ["No free msisdn is left in pool race."] * 4
    held = ServiceResource.objects.filter(resource__parent=pool).exclude(state="released")
    assert held.count() == 8
    assert held.values("resource").distinct().count() == 8
