"""Pages compose by registration (telco.panels): what an app registers for an object type shows
on that object's page, only to the roles named; a page with nothing registered still renders;
lookups registered at an extension point answer it."""

import re

import pytest
from django.db.models import Value
from django.urls import reverse

from crm import portal_queries
from crm.models import Customer
from crm.tests.page_factories import make_customer
from inventory.tests.factories import GnbFactory, SiteFactory
from telco import panels
from telco.panels import Column, Panel
from telco.roles import FINANCE

pytestmark = pytest.mark.django_db


@pytest.fixture
def panel_template(settings, tmp_path):
    """A template directory with a panel template and a cell template of the test's own."""
    (tmp_path / "test_panel.html").write_text(
        "<section data-test-panel>{{ greeting }} {{ object.name }}</section>"
    )
    (tmp_path / "test_cell.html").write_text('<td data-test-cell="{{ object.test_value }}"></td>')
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    ]
    return "test_panel.html"


def greeting_panel(template: str, **options) -> Panel:
    return Panel(
        name="test.greeting",
        title="Greeting",
        template=template,
        context=lambda request, customer: {"greeting": f"Hello {request.user.username}"},
        **options,
    )


def test_the_apps_register_their_panels_and_lookups():
    assert [p.name for p in panels.panels_for("crm.customer")] == [
        "billing.accounts",
        "billing.prepaid",
        "billing.payments",
        "billing.money_owed",
        "billing.bills",
        "assurance.open_alarms",
        "assurance.sla_report",
        "assurance.kpi_charts",
        "audit.history",
    ]
    assert [p.name for p in panels.panels_for("crm.customer.live")] == [
        "assurance.incidents",
        "inventory.products",
        "orders.recent_orders",
    ]
    assert [p.name for p in panels.panels_for("inventory.product")] == [
        "assurance.product_incidents",
        "orders.product_actions",
    ]
    assert [p.name for p in panels.panels_for("crm.customer.actions")] == ["orders.new_order"]
    assert [p.name for p in panels.panels_for("inventory.index")] == [
        "assurance.dashboard",
        "orders.activation_queue",
    ]
    assert [p.name for p in panels.panels_for("inventory.site")] == ["assurance.open_alarms"]
    assert [p.name for p in panels.panels_for("inventory.service")] == ["assurance.kpi_charts"]
    assert [c.name for c in panels.columns_for("inventory.region")] == [
        "assurance.open_alarm_count"
    ]
    finders = [f.__name__ for f in panels.lookups_for(portal_queries.CUSTOMER_FINDER)]
    assert finders == ["customer_by_service_id", "customer_by_msisdn"]
    assert len(panels.lookups_for(portal_queries.TICKET_TARGETS)) == 1
    assert len(panels.lookups_for(portal_queries.PORTAL_ROUTES)) == 1


def test_a_registered_panel_shows_on_the_page_of_its_object_type(agent_client, panel_template):
    customer, _ = make_customer(given_name="Ada", family_name="Lovelace")
    url = reverse("crm:customer-detail", args=[customer.pk])
    with panels.replaced("crm.customer", greeting_panel(panel_template)):
        html = agent_client.get(url).content.decode()
    assert "<section data-test-panel>Hello agent1 Ada Lovelace</section>" in html
    # Only what is registered: billing's and assurance's panels are not, within the block.
    assert 'id="bills-h"' not in html
    assert 'id="alarms-h"' not in html
    # After the block, the apps' panels are back and the test's is gone.
    html = agent_client.get(url).content.decode()
    assert "data-test-panel" not in html
    assert 'id="bills-h"' in html


def test_a_panel_for_some_roles_shows_to_those_roles_only(
    agent_client, finance_client, panel_template
):
    customer, _ = make_customer()
    url = reverse("crm:customer-detail", args=[customer.pk])
    with panels.replaced("crm.customer", greeting_panel(panel_template, roles=(FINANCE,))):
        assert "data-test-panel" not in agent_client.get(url).content.decode()
        assert "data-test-panel" in finance_client.get(url).content.decode()


def test_panels_render_in_their_order(agent_client, panel_template):
    customer, _ = make_customer()
    first = Panel(name="test.first", title="", template=panel_template, order=1)
    second = greeting_panel(panel_template, order=2)
    url = reverse("crm:customer-detail", args=[customer.pk])
    with panels.replaced("crm.customer", second, first):
        html = agent_client.get(url).content.decode()
    greetings = re.findall(r"<section data-test-panel>([^<]*)</section>", html)
    assert greetings == [f" {customer.name}", f"Hello agent1 {customer.name}"]


def test_the_customer_page_renders_with_nothing_registered(agent_client):
    customer, _ = make_customer(given_name="Grace", family_name="Hopper")
    with panels.replaced("crm.customer"), panels.replaced("crm.customer.live"):
        page = agent_client.get(reverse("crm:customer-detail", args=[customer.pk]))
        live = agent_client.get(reverse("crm:customer-products", args=[customer.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "<h1>Grace Hopper</h1>" in html
    assert 'id="customer-live"' in html
    for heading in ("accounts-h", "payments-h", "bills-h", "alarms-h", "products-h", "orders-h"):
        assert f'id="{heading}"' not in html
    assert live.status_code == 200
    assert live.content.decode().strip() == ""


def test_a_registered_column_annotates_and_shows_in_the_list(noc_client, panel_template):
    site = SiteFactory(name="Harbour")
    GnbFactory(site=site)
    column = Column(
        name="test.value",
        title="Test value",
        template="test_cell.html",
        annotate=lambda sites: sites.annotate(test_value=Value(42)),
        css_class="num",
    )
    with panels.replaced("inventory.site", column):
        html = noc_client.get(reverse("inventory:index")).content.decode()
    assert '<th class="num">Test value</th>' in html
    site_row = html.split(f'<tr id="site-{site.pk}">')[1].split("</tr>")[0]
    assert '<td data-test-cell="42"></td>' in site_row
    assert "data-alarms" not in site_row  # assurance's column is not registered within the block


def test_site_and_equipment_pages_render_with_nothing_registered(noc_client):
    site = SiteFactory(name="Harbour")
    gnb = GnbFactory(site=site)
    with panels.replaced("inventory.site"), panels.replaced("inventory.equipment"):
        site_page = noc_client.get(reverse("inventory:site-detail", args=[site.pk]))
        equipment_page = noc_client.get(reverse("inventory:equipment-detail", args=[gnb.pk]))
    assert site_page.status_code == 200
    assert equipment_page.status_code == 200
    for html in (site_page.content.decode(), equipment_page.content.decode()):
        assert "Open alarms" not in html
        assert 'id="alarms-heading"' not in html
    assert f'<tr id="resource-{gnb.pk}">' in site_page.content.decode()


def test_a_registered_customer_finder_finds_exact_hits(agent_client):
    wanted, _ = make_customer(given_name="Zed", family_name="Wanted")
    make_customer(given_name="Ann", family_name="Other")

    def by_loyalty_card(query: str):
        if query != "CARD-7":
            return None
        return Customer.objects.filter(pk=wanted.pk).values("pk")

    with panels.replaced(portal_queries.CUSTOMER_FINDER, by_loyalty_card):
        assert portal_queries.search_customers("CARD-7") == [wanted]
    assert portal_queries.search_customers("CARD-7") == []


def test_registering_again_under_the_same_name_replaces():
    panel = Panel(name="test.once", title="Once", template="x.html")
    with panels.replaced("test.thing"):
        panels.register("test.thing", panel)
        panels.register("test.thing", Panel(name="test.once", title="Again", template="x.html"))
        assert [p.title for p in panels.panels_for("test.thing")] == ["Again"]
        panels.unregister("test.thing", "test.once")
        assert panels.panels_for("test.thing") == []
    assert panels.panels_for("test.thing") == []
