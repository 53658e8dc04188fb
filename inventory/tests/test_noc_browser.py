"""NOC journeys in Debian's Chromium: the impact of a cable cut, and the activation queue."""

import pytest
from django.core.management import call_command

from assurance.tests.factories import subscribe
from catalog.tests.factories import shared_five_g_offering
from crm.tests.factories import BillingAccountFactory, CustomerFactory
from inventory.services import cable_create, duct_create, link_create
from inventory.tests.factories import GnbFactory, RouterFactory, SiteFactory, SliceFactory
from orders import services as order_services
from orders.models import ServiceOrder
from orders.services import ItemRequest, PartyRequest
from telco.testing import browser_login, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_noc_opens_a_cable_and_sees_what_its_cut_breaks(noc_user, browser_page):
    core = RouterFactory(name="core-1", site=SiteFactory(name="Core DC"))
    aggregation = RouterFactory(name="agg-river", site=SiteFactory(name="Riverside"))
    cable = cable_create(name="CBL-RIVER-01", duct=duct_create(name="DUCT-7"))
    link_create(name="fibre-agg-core", a_end=aggregation, z_end=core, cable=cable)
    customers = [
        CustomerFactory(name="Delta Freight", segment="enterprise"),
        CustomerFactory(name="Ann Smith"),
        CustomerFactory(name="Bo Jones"),
    ]
    subscriptions = []
    for customer in customers:
        gnb = GnbFactory(site=aggregation.site)
        link_create(name=f"mw-{gnb.name}", a_end=gnb, z_end=aggregation, medium="microwave")
        subscriptions.append(subscribe(SliceFactory(parent=gnb), customer=customer))
    subscribe(GnbFactory(), customer=CustomerFactory(name="Far Away"))

    page = browser_page
    browser_login(page, "noc1", "pw-noc")
    page.get_by_role("link", name="Inventory").first.click()
    page.fill("input[name=q]", "CBL-RIVER")
    page.click("form[role=search] button[type=submit]")
    page.locator(".search-results a", has_text="CBL-RIVER-01").click()
    page.wait_for_url(f"**/noc/inventory/cables/{cable.pk}/")

    assert page.locator("h1").inner_text() == "Cable CBL-RIVER-01"
    assert page.locator("[data-count=customers]").inner_text() == "3"
    assert page.locator("[data-count=services]").inner_text() == "3"
    assert page.locator("[data-count=equipment]").inner_text() == "4"
    enterprise_bar = page.locator("svg.segment-chart g[data-segment=enterprise]")
    assert enterprise_bar.get_attribute("data-count") == "1"
    assert page.locator("ul.customers li").first.inner_text().startswith("Delta Freight")
    services = page.locator("table.services tbody tr")
    assert services.count() == 3
    for subscription in subscriptions:
        assert services.filter(has_text=subscription.service.name).count() == 1
    assert "Far Away" not in page.locator("body").inner_text()


def held_orders(count: int) -> list[ServiceOrder]:
    """Orders the real worker holds: their gNB keeps timing out until the attempts run out."""
    offering = shared_five_g_offering()
    gnb = GnbFactory()
    call_command("labnet", "fail", gnb.name, "--mode", "transient:1000")
    product_orders = [
        order_services.product_order_submit(
            items=[ItemRequest("1", "add", str(offering.pk), {"bandwidth": "100Mbps"})],
            parties=[PartyRequest(str(BillingAccountFactory().customer_id), "Customer")],
        )
        for _ in range(count)
    ]
    orders = [
        wait_for(lambda order=order: ServiceOrder.objects.filter(product_order=order).first())
        for order in product_orders
    ]
    for order in orders:
        wait_for(lambda order=order: ServiceOrder.objects.get(pk=order.pk).state == "held")
    return orders


def test_noc_retries_one_held_order_and_fails_another(noc_user, celery_worker, browser_page):
    retried, failed = held_orders(2)
    gnb_name = failed.items.get().steps.get(state="failed").resource.name

    page = browser_page
    browser_login(page, "noc1", "pw-noc")
    page.goto("/noc/activation/")
    retried_row = page.locator(f"#section-held #order-{retried.pk}")
    assert "gave up after 6 attempts" in retried_row.inner_text()

    # The element is fixed; Retry sends the order on, and the worker completes it.
    call_command("labnet", "heal", gnb_name)
    retried_row.get_by_role("button", name="Retry").click()
    page.wait_for_load_state()
    assert f"Service order {retried.pk} is being retried." in page.locator(".messages").inner_text()
    wait_for(lambda: ServiceOrder.objects.get(pk=retried.pk).state == "completed")
    # The table refreshes itself: the completed order leaves the queue without a reload.
    page.locator(f"#order-{retried.pk}").wait_for(state="detached")

    failed_row = page.locator(f"#section-held #order-{failed.pk}")
    failed_row.locator("summary", has_text="Fail").click()
    failed_row.get_by_label("Reason").fill("Site decommissioned")
    failed_row.get_by_role("button", name="Fail order").click()
    page.wait_for_load_state()
    assert f"Service order {failed.pk} failed: Site decommissioned" in (
        page.locator(".messages").inner_text()
    )
    failed_now = page.locator(f"#section-failed #order-{failed.pk}")
    assert "Failed by noc1: Site decommissioned" in failed_now.inner_text()
    assert ServiceOrder.objects.get(pk=failed.pk).state == "failed"
