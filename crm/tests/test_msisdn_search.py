"""The agent portal finds a customer by an allocated MSISDN (exact, optional +), through the
number's unique index, in a fixed number of queries; the 360 shows the number by the product."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.choices import ResourceKind
from crm.models import Customer
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.models import Service
from inventory.tests.factories import CustomerFacingServiceFactory

pytestmark = pytest.mark.django_db

FIRST = 316999000000


@pytest.fixture
def numbers():
    return inventory_services.msisdn_range_create(
        name="MSISDN-SEARCH", first=str(FIRST), count=2000
    )


def numbered_customer(*, rfs: bool = False):
    """A customer whose 5G service (or the RFS under it) was given the next free number."""
    cfs = CustomerFacingServiceFactory()
    holder = cfs
    if rfs:
        holder = Service.objects.create(
            name=f"RAN of {cfs.name}",
            category="RFS",
            service_specification=cfs.service_specification,
            parent=cfs,
            state="active",
        )
    number = inventory_services.logical_allocate(kind=ResourceKind.MSISDN, service=holder)
    return cfs.product.customer, number.value


def result_ids(html: str) -> list[str]:
    return re.findall(r'href="/portal/customers/(\d+)/"', html)


def test_search_finds_the_customer_by_msisdn(agent_client, numbers):
    ada, ada_number = numbered_customer()
    grace, grace_number = numbered_customer(rfs=True)
    url = reverse("crm:portal-search-results")

    for query, customer in [
        (ada_number, ada),
        (f"+{ada_number}", ada),
        (f" +{grace_number} ", grace),
    ]:
        html = agent_client.get(url, {"q": query}).content.decode()
        assert result_ids(html) == [str(customer.pk)], query
    # Exact numbers only; a free number of the range and a released one find nobody.
    assert result_ids(agent_client.get(url, {"q": ada_number[:-1]}).content.decode()) == []
    assert result_ids(agent_client.get(url, {"q": str(FIRST + 1500)}).content.decode()) == []
    inventory_services.logical_release(service=ada.products.get().services.get())
    assert result_ids(agent_client.get(url, {"q": ada_number}).content.decode()) == []
    # The search page itself, without JavaScript.
    page = agent_client.get(reverse("crm:portal-search"), {"q": f"+{grace_number}"})
    assert result_ids(page.content.decode()) == [str(grace.pk)]


def test_msisdn_search_query_count_does_not_grow(agent_client, numbers):
    def count_with(n):
        customers = [numbered_customer(rfs=i % 2 == 1) for i in range(n)]
        customer, number = customers[-1]
        with CaptureQueriesContext(connection) as ctx:
            response = agent_client.get(reverse("crm:portal-search-results"), {"q": number})
        assert result_ids(response.content.decode()) == [str(customer.pk)]
        return len(ctx)

    assert count_with(1) == count_with(6)


def test_customer_360_products_show_the_msisdn(agent_client, numbers):
    customer, number = numbered_customer(rfs=True)
    html = agent_client.get(reverse("crm:customer-products", args=[customer.pk])).content.decode()
    assert f"MSISDN +{number}" in html
    product = inventory_selectors.customer_products(customer.pk)[0]
    assert product.msisdns == [number]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="plans are PostgreSQL's")
def test_msisdn_search_uses_the_number_index(numbers):
    for _ in range(30):
        numbered_customer(rfs=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE inventory_resource, inventory_serviceresource, inventory_service")
    query = Customer.objects.filter(pk__in=inventory_selectors.number_customer_ids(str(FIRST + 3)))
    explained = query.explain()
    assert "resource_value_unique" in explained, explained
    assert "Seq Scan on inventory_resource" not in explained, explained
