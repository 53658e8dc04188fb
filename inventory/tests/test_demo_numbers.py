"""The demo's 5G services get an MSISDN and a SIM from the demo pools: bulk, deterministic,
additive, found by the portal search."""

import random

import pytest

from catalog.choices import ResourceKind
from catalog.demo import ensure_catalog
from crm import portal_queries
from inventory import demo_network
from inventory.demo import ensure_network
from inventory.models import Resource, Service, ServiceResource
from telco.management.commands.seed_demo import ensure_customers

pytestmark = pytest.mark.django_db


def _seed():
    offerings = ensure_catalog()
    network = ensure_network(random.Random(7), 10)
    ensure_customers(random.Random(7), 30, offerings, network, report=lambda line: None)


def test_demo_mobile_services_get_a_number_and_a_sim_once():
    _seed()
    mobile = Service.objects.filter(
        service_specification__name="5G Slice Service", product__isnull=False
    ).order_by("pk")
    assert mobile.exists()

    assert demo_network.ensure_mobile_numbers() == mobile.count()

    for kind, pool in ((ResourceKind.MSISDN, "MSISDN-4474009"), (ResourceKind.SIM, "SIM-STOCK-1")):
        bound = ServiceResource.objects.filter(resource__resource_kind=kind).order_by("service_id")
        assert [b.service_id for b in bound] == [s.pk for s in mobile]
        assert {(b.state, b.is_exclusive, b.resource.parent.name) for b in bound} == {
            ("active", True, pool)
        }
    first = ServiceResource.objects.get(
        service=mobile[0], resource__resource_kind=ResourceKind.MSISDN
    )
    assert first.resource.value == "447400900000"  # first service, first number of the range
    assert Resource.objects.get(pk=first.resource_id).usage_state == "busy"
    # Additive: a second run binds nothing and moves nothing.
    before = list(ServiceResource.objects.values_list("pk", "service_id", "resource_id"))
    assert demo_network.ensure_mobile_numbers() == 0
    assert list(ServiceResource.objects.values_list("pk", "service_id", "resource_id")) == before
    # The agent finds the customer by the number.
    customer = mobile[0].product.customer
    assert portal_queries.search_customers("+447400900000") == [customer]
