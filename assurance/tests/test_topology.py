"""The impact queries of inventory/topology.py: exact sets, one query each."""

import pytest

from assurance.tests.factories import subscribe
from inventory.choices import BindingState
from inventory.models import Resource, ServiceResource
from inventory.tests.factories import GnbFactory, SliceFactory
from inventory.topology import resources_under, service_path, services_depending_on

pytestmark = pytest.mark.django_db


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.fixture
def network():
    gnb = GnbFactory(name="gnb-north-1")
    slice_a = SliceFactory(parent=gnb, name="slice-a")
    slice_b = SliceFactory(parent=gnb, name="slice-b")
    # A port on slice-a: three levels deep.
    port = Resource.objects.create(
        name="port-a1", resource_kind="port", category="logical", parent=slice_a
    )
    other_gnb = GnbFactory(name="gnb-south-1")
    return {"gnb": gnb, "a": slice_a, "b": slice_b, "port": port, "other": other_gnb}


def test_resources_under_is_the_resource_and_all_its_descendants(
    network, django_assert_num_queries
):
    with django_assert_num_queries(1):
        found = ids(resources_under([network["gnb"].pk]))
    assert found == {network[k].pk for k in ("gnb", "a", "b", "port")}
    assert ids(resources_under([network["a"].pk])) == {network["a"].pk, network["port"].pk}
    assert ids(resources_under([network["port"].pk, network["other"].pk])) == {
        network["port"].pk,
        network["other"].pk,
    }
    assert ids(resources_under([])) == set()


def test_services_depending_on_walks_resources_down_and_services_up(
    network, django_assert_num_queries
):
    on_gnb_and_slice = subscribe(network["gnb"], network["a"])
    on_port_via_rfs = subscribe(network["port"], through_rfs=True)
    on_slice_b = subscribe(network["b"])
    subscribe(network["b"], binding_state=BindingState.RELEASED)  # gave its hold back
    reserved_only = subscribe(network["other"], binding_state=BindingState.RESERVED)

    with django_assert_num_queries(1):
        on_gnb = ids(services_depending_on([network["gnb"].pk]))
    # Only customer-facing services: the RFS below on_port_via_rfs is not listed itself.
    assert on_gnb == {
        on_gnb_and_slice.service.pk,
        on_port_via_rfs.service.pk,
        on_slice_b.service.pk,
    }
    assert ids(services_depending_on([network["a"].pk])) == {
        on_gnb_and_slice.service.pk,
        on_port_via_rfs.service.pk,
    }
    assert ids(services_depending_on([network["b"].pk])) == {on_slice_b.service.pk}
    assert ids(services_depending_on([network["other"].pk])) == {reserved_only.service.pk}
    assert ids(services_depending_on([])) == set()


def test_service_path_is_the_bound_resources_and_their_ancestors(
    network, django_assert_num_queries
):
    via_rfs = subscribe(network["port"], through_rfs=True)
    direct = subscribe(network["b"])
    # A hold the service gave back is no longer part of its path.
    ServiceResource.objects.create(
        service=direct.service, resource=network["other"], state=BindingState.RELEASED
    )

    with django_assert_num_queries(1):
        path = list(service_path(via_rfs.service.pk))
        sites = {resource.site.name for resource in path if resource.site_id}
    assert {resource.pk for resource in path} == {
        network["port"].pk,
        network["a"].pk,
        network["gnb"].pk,
    }
    assert sites == {network["gnb"].site.name}
    assert ids(service_path(direct.service.pk)) == {network["b"].pk, network["gnb"].pk}
