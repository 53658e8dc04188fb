"""Browser journeys of the portal's ordering, in Debian's Chromium, with a real Celery worker.

The live server and the worker share the test database (both need committed rows, hence
transactional tests): the agent's order is activated by the worker against the lab network
while the page watches.
"""

import pytest

from inventory.models import ProductInstance
from orders import services
from orders.models import ProductOrder
from orders.tests.factories import five_g_world
from telco.testing import browser_login, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACTIVATION_TIMEOUT_MS = 30_000


def _watch_order_complete(page) -> None:
    """Wait on the order page, without reloading, until the order and its steps are done."""
    # Set on this document only: a reload or navigation would lose it.
    page.evaluate("window.orderPageNotReloaded = true")
    page.wait_for_selector('[data-order-state="completed"]', timeout=ACTIVATION_TIMEOUT_MS)
    assert page.evaluate("window.orderPageNotReloaded") is True
    states = page.locator("[data-step-state]").all_inner_texts()
    assert states
    assert set(states) == {"done"}
    assert page.locator("[data-live-status]").inner_text().startswith("final")


def test_agent_orders_5g_premium_and_watches_it_activate(celery_worker, agent_user, browser_page):
    offering, account, _gnb = five_g_world()
    customer = account.customer
    page = browser_page
    browser_login(page, agent_user.username, "pw-agent")

    page.goto(f"/portal/customers/{customer.pk}/")
    page.get_by_role("link", name="New order").click()
    page.wait_for_url(f"**/portal/orders/new/?customer={customer.pk}")
    assert "Choose an offering to configure it" in page.locator("#offering-config").inner_text()

    page.select_option("#id_offering", label="5G Premium")
    # The characteristics and prices arrive without a reload.
    page.wait_for_selector("#id_char-bandwidth")
    assert page.locator('[data-price="oneTime"]').inner_text() == "49.00 EUR"
    assert page.locator('[data-price="monthly"]').inner_text() == "30.00 EUR"
    assert page.locator("#id_char-bandwidth").input_value() == "500Mbps"
    page.select_option("#id_char-bandwidth", "1Gbps")
    assert page.locator("#id_billing_account").input_value() == str(account.pk)

    page.get_by_role("button", name="Submit order").click()
    page.wait_for_url("**/portal/orders/*/")
    order = ProductOrder.objects.get()
    assert page.url.endswith(f"/portal/orders/{order.pk}/")
    assert order.items.get().characteristics == {"bandwidth": "1Gbps"}

    _watch_order_complete(page)
    body = page.locator("body").inner_text()
    assert "Activate service" in body
    assert page.locator("[data-item-state]").all_inner_texts() == ["completed"]
    order.refresh_from_db()
    assert order.state == "completed"


def test_agent_suspends_a_product_from_the_customer_page(celery_worker, agent_user, browser_page):
    offering, account, _gnb = five_g_world()
    customer = account.customer
    first = services.product_order_submit(
        items=[
            services.ItemRequest(
                item_id="1",
                action="add",
                target_id=str(offering.pk),
                characteristics={"bandwidth": "100Mbps"},
            )
        ],
        parties=[services.PartyRequest(id=str(customer.pk), referred_type="Customer")],
    )
    wait_for(lambda: ProductOrder.objects.get(pk=first.pk).state == "completed")
    product = ProductInstance.objects.get(customer=customer)
    page = browser_page
    browser_login(page, agent_user.username, "pw-agent")

    page.goto(f"/portal/customers/{customer.pk}/")
    actions = page.locator(f'[data-product="{product.pk}"] [data-action]')
    assert actions.all_inner_texts() == ["Change plan", "Change bandwidth", "Suspend", "Terminate"]
    actions.filter(has_text="Suspend").click()
    page.wait_for_url(f"**/portal/orders/products/{product.pk}/suspend/")
    page.fill("#id_description", "Travelling for three months")
    page.get_by_role("button", name="Suspend").click()
    page.wait_for_url("**/portal/orders/*/")

    _watch_order_complete(page)
    order = ProductOrder.objects.exclude(pk=first.pk).get()
    assert page.url.endswith(f"/portal/orders/{order.pk}/")
    assert order.description == "Travelling for three months"
    product.refresh_from_db()
    assert product.status == "suspended"

    page.goto(f"/portal/customers/{customer.pk}/")
    assert page.locator(f'[data-product="{product.pk}"] [data-action]').all_inner_texts() == [
        "Resume",
        "Terminate",
    ]
