"""The agent's new-order page for enterprise offerings: the sites to choose, whether each can
be served before submitting, a refusal shown at the sites, and the progress per site after."""

import re

import pytest
from django.urls import reverse

from catalog.demo import ensure_catalog
from catalog.demo_enterprise import ensure_enterprise_catalog
from crm.tests.factories import BillingAccountFactory
from inventory import services as inventory_services
from inventory.services import SiteDemand
from inventory.tests.enterprise import enterprise_network
from orders import services
from orders.models import ProductOrder

pytestmark = pytest.mark.django_db

NEW = reverse("orders_portal:order-new")
CONFIG = reverse("orders_portal:offering-configuration")
FEASIBILITY = reverse("orders_portal:order-feasibility")


@pytest.fixture
def world():
    ensure_catalog()
    offering = ensure_enterprise_catalog()
    network = enterprise_network(sites=2, access_ports=1)
    account = BillingAccountFactory(customer__segment="enterprise")
    # The second site's only access port is taken.
    other = inventory_services.service_create(
        service_specification=offering.product_specification.service_specifications.get(),
        characteristics={},
    )
    inventory_services.access_reserve(holders={other: SiteDemand(network.sites[1].pk, 10)})
    return {"offering": offering, "network": network, "account": account}


def test_the_form_offers_the_sites_and_checks_each_before_submitting(agent_client, world):
    first, full = world["network"].sites
    page = agent_client.get(
        CONFIG, {"customer": world["account"].customer_id, "offering": world["offering"].pk}
    )
    html = page.content.decode()
    assert 'name="char-sites" multiple' in html
    assert re.findall(r'<option value="(\d+)">(E-SITE-\d) ', html) == [
        (str(first.pk), "E-SITE-1"),
        (str(full.pk), "E-SITE-2"),
    ]
    assert "data-feasibility" in html

    answer = agent_client.get(
        FEASIBILITY, {"sites": [first.pk, full.pk], "bandwidth": "100Mbps"}
    ).content.decode()
    assert re.findall(r'data-site="(\d+)" data-feasible="(\w+)"', answer) == [
        (str(first.pk), "yes"),
        (str(full.pk), "no"),
    ]
    assert f"Site E-SITE-2 ({full.pk}): PE-E-2 has no free port of 100 Mbps." in answer
    assert (
        "is not a bandwidth"
        in agent_client.get(
            FEASIBILITY, {"sites": [first.pk], "bandwidth": "fast"}
        ).content.decode()
    )


def test_a_refused_site_is_shown_at_the_sites_and_nothing_is_ordered(agent_client, world):
    first, full = world["network"].sites
    form = {
        "customer": world["account"].customer_id,
        "offering": world["offering"].pk,
        "billing_account": world["account"].pk,
        "char-bandwidth": "100Mbps",
        "char-sites": [first.pk, full.pk],
    }
    response = agent_client.post(NEW, form)
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'data-error="char-sites"><li>Not feasible: Site E-SITE-2', html)
    assert not ProductOrder.objects.exists()

    form["char-sites"] = [first.pk]
    response = agent_client.post(NEW, form)
    assert response.status_code == 302
    order = ProductOrder.objects.get()
    assert order.items.get().characteristics["sites"] == str(first.pk)


def test_the_order_page_shows_progress_per_site(agent_client, world, lab):
    first = world["network"].sites[0]
    second = enterprise_network(sites=1, tag="F", prefix="10.201.0.0/24", route_targets=0)
    order = services.product_order_submit(
        items=[
            services.ItemRequest(
                "1",
                "add",
                str(world["offering"].pk),
                {"bandwidth": "100Mbps", "sites": f"{first.pk},{second.sites[0].pk}"},
            )
        ],
        parties=[services.PartyRequest(str(world["account"].customer_id), "Customer")],
    )
    services.product_order_process(product_order_id=order.pk)
    services.service_order_run(service_order_id=order.service_orders.get().pk)

    html = agent_client.get(reverse("orders_portal:order-progress", args=[order.pk])).content
    steps = re.findall(
        r"<td>(Configure PE [^<]+)<span[^>]*>[^<]*</span></td>\s*"
        r"<td><span class=\"badge step-(\w+)",
        html.decode(),
    )
    assert [(name.strip(), state) for name, state in steps] == [
        ("Configure PE PE-E-1", "done"),
        ("Configure PE PE-F-1", "done"),
    ]


def test_the_finance_role_cannot_check_sites(finance_client, world):
    assert finance_client.get(FEASIBILITY, {"sites": [1]}).status_code == 403
