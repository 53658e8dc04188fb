"""Inventory services: products and services through their state machines, capacity, release."""

import pytest

from catalog.models import ServiceSpecification
from catalog.tests.factories import five_g_premium_offering
from crm.tests.factories import BillingAccountFactory
from inventory import services
from inventory.models import Resource, ServiceResource
from inventory.tests.factories import GnbFactory, RegionFactory, SiteFactory
from telco.exceptions import DomainError, InvalidTransition


def _service(capacity_city="", offering=None):
    offering = offering or five_g_premium_offering()
    account = BillingAccountFactory(customer__party__city=capacity_city)
    product = services.product_create(
        customer=account.customer,
        billing_account=account,
        product_offering=offering,
        characteristics={"bandwidth": "1Gbps"},
        product_order_id="7",
        product_order_item_id="1",
    )
    services.product_mark_pending_active(product=product)
    service = services.service_create(
        service_specification=ServiceSpecification.objects.get(name="5G Slice Service"),
        characteristics=product.characteristics,
        product=product,
    )
    return product, service


@pytest.mark.parametrize(
    ("text", "mbps"), [("1Gbps", 1000), ("500Mbps", 500), ("2.5Gbps", 2500), (None, 100)]
)
def test_bandwidth_parsing(text, mbps):
    assert services.bandwidth_mbps(text) == mbps


def test_bad_bandwidth_is_refused():
    with pytest.raises(DomainError, match="'fast' is not a bandwidth"):
        services.bandwidth_mbps("fast")


@pytest.mark.django_db
def test_reservation_prefers_the_customer_region_then_the_freest_gnb():
    _, service = _service(capacity_city="Leeds")
    GnbFactory(name="gnb-big", capacity_mbps=40000)
    local = GnbFactory(
        name="gnb-leeds", capacity_mbps=2000, site=SiteFactory(region=RegionFactory(name="Leeds"))
    )

    gnb_binding, slice_binding = services.capacity_reserve(
        service=service, bandwidth=1000, customer=service.product.customer
    )

    assert (gnb_binding.resource, gnb_binding.capacity_mbps, gnb_binding.state) == (
        local,
        1000,
        "reserved",
    )
    slice_resource = slice_binding.resource
    assert (slice_resource.name, slice_resource.parent, slice_resource.category) == (
        f"slice-{service.pk}",
        local,
        "logical",
    )
    assert slice_resource.characteristics == {"sNssai": {"sst": 1, "sd": f"{service.pk:06x}"}}
    assert slice_binding.is_exclusive is True
    service.refresh_from_db()
    assert service.state == "reserved"
    assert list(service.history.values_list("to_state", flat=True)) == [
        "feasibilityChecked",
        "designed",
        "reserved",
    ]
    # Reserving again returns the same reservation.
    assert services.capacity_reserve(service=service, bandwidth=1000) == [
        gnb_binding,
        slice_binding,
    ]


@pytest.mark.django_db
def test_capacity_is_not_over_booked_and_returns_on_release():
    gnb = GnbFactory(capacity_mbps=1500)
    _, first = _service()
    _, second = _service(offering=first.product.product_offering)
    services.capacity_reserve(service=first, bandwidth=1000)

    assert services.capacity_is_feasible(bandwidth=500) is True
    assert services.capacity_is_feasible(bandwidth=1000) is False
    with pytest.raises(DomainError, match="No gNB has 1000 Mbps of free capacity."):
        services.capacity_reserve(service=second, bandwidth=1000)
    assert ServiceResource.objects.filter(service=second).count() == 0

    services.services_release(services=[first], reason="test")

    assert services.capacity_is_feasible(bandwidth=1500) is True
    first.refresh_from_db()
    assert first.state == "terminated"
    assert first.product.status == "aborted"
    assert Resource.objects.get(name=f"slice-{first.pk}").resource_status == "standby"
    assert set(first.bindings.values_list("state", flat=True)) == {"released"}
    assert gnb.bindings.exclude(state="released").count() == 0


@pytest.mark.django_db
def test_activation_sets_everything_active_at_one_instant():
    GnbFactory()
    product, service = _service()
    services.capacity_reserve(service=service, bandwidth=1000)

    at = services.services_activate(services=[service])

    product.refresh_from_db()
    service.refresh_from_db()
    assert (product.status, product.start_date) == ("active", at)
    assert (service.state, service.start_date) == ("active", at)
    assert set(service.bindings.values_list("state", flat=True)) == {"active"}
    assert list(product.history.values_list("to_state", flat=True)) == [
        "created",
        "pendingActive",
        "active",
    ]


@pytest.mark.django_db
def test_illegal_product_move_changes_nothing():
    product, _ = _service()

    with pytest.raises(InvalidTransition):
        services.product_mark_pending_active(product=product)

    product.refresh_from_db()
    assert product.status == "pendingActive"
    assert product.history.count() == 2


@pytest.mark.django_db
def test_activating_several_services_moves_all_or_none():
    offering = five_g_premium_offering()
    (_, first), (_, second), (_, third) = (_service(offering=offering) for _ in range(3))
    type(first).objects.filter(pk=third.pk).update(state="terminated")
    rows = sum(service.history.count() for service in (first, second))

    # Designed may become reserved, then active; terminated may not: none moves.
    with pytest.raises(InvalidTransition, match="terminated"):
        services.services_activate(services=[third, first], by="noc1")

    first.refresh_from_db()
    assert first.state == "designed"
    assert sum(service.history.count() for service in (first, second)) == rows

    at = services.services_activate(services=[second, first], by="noc1")

    for service in (first, second):
        service.refresh_from_db()
        assert (service.state, service.start_date) == ("active", at)
        assert list(service.history.order_by("id").values_list("from_state", "to_state"))[-2:] == [
            ("designed", "reserved"),
            ("reserved", "active"),
        ]
