"""The agent portal's order pages: new order, order progress, and product actions."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.tests.factories import (
    CharacteristicSpecificationFactory,
    ProductOfferingFactory,
    ProductOfferingPriceFactory,
    five_g_premium_offering,
)
from crm.tests.factories import BillingAccountFactory
from inventory.tests.factories import ProductInstanceFactory
from orders import services
from orders.models import ProductOrder
from orders.tests.factories import five_g_world

pytestmark = pytest.mark.django_db

NEW = reverse("orders_portal:order-new")
CONFIG = reverse("orders_portal:offering-configuration")


@pytest.fixture
def world():
    offering, account, gnb = five_g_world()
    return {"offering": offering, "account": account, "customer": account.customer, "gnb": gnb}


def _order_form(world, **fields) -> dict:
    form = {
        "customer": world["customer"].pk,
        "offering": world["offering"].pk,
        "billing_account": world["account"].pk,
        "char-bandwidth": "1Gbps",
    }
    form.update(fields)
    return form


def _errors(html: str) -> dict[str, str]:
    """Error messages by the form field they sit next to."""
    return dict(re.findall(r'data-error="([^"]+)"[^>]*>(?:<li>)?([^<]+)<', html))


# --- new order ----------------------------------------------------------------------------------


def test_new_order_lists_only_offerings_open_to_the_customers_segment(agent_client, world):
    ProductOfferingFactory(name="Fibre Enterprise", market_segments=["enterprise"])
    ProductOfferingFactory(name="Fibre Home", market_segments=["consumer"])
    ProductOfferingFactory(name="Retired plan", lifecycle_status="retired")
    other_account = BillingAccountFactory(customer=world["customer"], account_number="TA-SECOND")

    page = agent_client.get(NEW, {"customer": world["customer"].pk})

    assert page.status_code == 200
    html = page.content.decode()
    offerings = re.findall(
        r'<option value="\d+">([^<]+)</option>', html.split('name="offering"')[1]
    )
    assert offerings[:2] == ["5G Premium", "Fibre Home"]
    assert "Fibre Enterprise" not in html
    assert "Retired plan" not in html
    assert world["account"].account_number in html
    assert other_account.account_number in html
    assert "Choose an offering to configure it and see its price." in html


def test_offering_fragment_shows_characteristics_and_prices(agent_client, world):
    fragment = agent_client.get(
        CONFIG, {"customer": world["customer"].pk, "offering": world["offering"].pk}
    )

    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert re.findall(r'<option value="([^"]+)"', html) == ["100Mbps", "500Mbps", "1Gbps"]
    assert '<option value="500Mbps" selected>500Mbps (default)</option>' in html
    assert '<dd data-price="oneTime">49.00 EUR</dd>' in html
    assert '<dd data-price="monthly">30.00 EUR</dd>' in html
    assert 'data-price="yearly"' not in html
    assert "2.00 EUR per GB, 5 GB included" in html


def test_offering_fragment_shows_yearly_price_number_range_and_required(agent_client, world):
    offering = ProductOfferingFactory(name="IoT yearly")
    CharacteristicSpecificationFactory(
        product_specification=offering.product_specification,
        name="devices",
        value_type="number",
        min_value=1,
        max_value=500,
        default_value="10",
        is_required=True,
    )
    ProductOfferingPriceFactory(
        product_offering=offering, recurring_period="year", amount="120.00", name="Yearly fee"
    )

    html = agent_client.get(
        CONFIG, {"customer": world["customer"].pk, "offering": offering.pk}
    ).content.decode()

    assert (
        '<input type="number" step="any" id="id_char-devices" name="char-devices" value="10"'
        ' min="1" max="500" required>' in html
    )
    assert '<dd data-price="yearly">120.00 EUR</dd>' in html
    assert '<dd data-price="oneTime">none</dd>' in html


def test_offering_fragment_refuses_an_offering_outside_the_segment(agent_client, world):
    enterprise = ProductOfferingFactory(market_segments=["enterprise"])
    response = agent_client.get(
        CONFIG, {"customer": world["customer"].pk, "offering": enterprise.pk}
    )
    assert response.status_code == 404


def test_submitting_creates_the_order_and_goes_to_its_page(agent_client, agent_user, world):
    response = agent_client.post(NEW, _order_form(world, description="Shop visit"))

    order = ProductOrder.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("orders_portal:order-detail", args=[order.pk])
    assert order.customer == world["customer"]
    assert order.billing_account == world["account"]
    assert order.state == "acknowledged"
    assert order.created_by == agent_user.username
    assert order.description == "Shop visit"
    item = order.items.get()
    assert (item.item_id, item.action, item.product_offering) == ("1", "add", world["offering"])
    assert item.characteristics == {"bandwidth": "1Gbps"}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"char-bandwidth": "2Gbps"}, "char-bandwidth", "'2Gbps' is not one of the allowed"),
        ({"offering": ""}, "offering", "Name the product offering to add."),
        ({"offering": "999999"}, "offering", "Product offering '999999' does not exist."),
    ],
)
def test_a_refused_order_shows_the_error_at_its_field_and_creates_nothing(
    agent_client, world, fields, field, message
):
    response = agent_client.post(NEW, _order_form(world, **fields))

    assert response.status_code == 400
    errors = _errors(response.content.decode())
    assert list(errors) == [field]
    assert errors[field].startswith(message.replace("'", "&#x27;"))
    assert ProductOrder.objects.count() == 0


def test_an_account_of_another_customer_is_refused_at_the_account(agent_client, world):
    stranger = BillingAccountFactory()
    response = agent_client.post(NEW, _order_form(world, billing_account=stranger.pk))

    assert response.status_code == 400
    errors = _errors(response.content.decode())
    assert list(errors) == ["billing_account"]
    assert "does not belong to customer" in errors["billing_account"]
    assert ProductOrder.objects.count() == 0


def test_infeasible_bandwidth_is_refused_at_the_bandwidth(agent_client):
    offering, account, _gnb = five_g_world(gnb_capacity_mbps=200)
    world = {"offering": offering, "account": account, "customer": account.customer}
    response = agent_client.post(NEW, _order_form(world, **{"char-bandwidth": "500Mbps"}))

    assert response.status_code == 400
    html = response.content.decode()
    assert _errors(html) == {
        "char-bandwidth": "Not feasible: no gNB has 500 Mbps of free capacity."
    }
    # The form keeps what the agent chose.
    assert '<option value="500Mbps" selected>' in html
    assert ProductOrder.objects.count() == 0


# --- order page -----------------------------------------------------------------------------------


def _submitted(world, *, items: int = 1, by: str = "agent1") -> ProductOrder:
    """An order decomposed into its service orders and steps (the worker's first move)."""
    order = services.product_order_submit(
        items=[
            services.ItemRequest(
                item_id=str(n),
                action="add",
                target_id=str(world["offering"].pk),
                characteristics={"bandwidth": "100Mbps"},
            )
            for n in range(1, items + 1)
        ],
        parties=[services.PartyRequest(id=str(world["customer"].pk), referred_type="Customer")],
        by=by,
    )
    services.product_order_process(product_order_id=order.pk)
    return order


def test_order_page_shows_header_items_steps_and_history(agent_client, world):
    order = _submitted(world)

    page = agent_client.get(reverse("orders_portal:order-detail", args=[order.pk]))

    assert page.status_code == 200
    html = page.content.decode()
    assert world["customer"].name in html
    assert world["account"].account_number in html
    assert 'data-order-state="inProgress"' in html
    assert "data-final" not in html
    assert f'data-progress-url="/portal/orders/{order.pk}/progress/"' in html
    step_names = re.findall(
        r"<td>((?:Design|Configure|Verify|Activate)[^<]*?) ?(?:<span|</td>)", html
    )
    assert step_names == [
        "Design, reserve gNB capacity, allocate slice",
        "Configure gnb",
        "Configure slice",
        "Verify configuration",
        "Activate service",
    ]
    assert html.count("data-step-state>pending<") == 5
    # History: who acknowledged it, then the workflow.
    history = re.findall(r"<td>(agent1|activation-workflow)</td>", html)
    assert history == ["agent1", "activation-workflow"]


def test_progress_fragment_is_final_with_the_failure_reason(agent_client, world):
    order = _submitted(world)
    ProductOrder.objects.filter(pk=order.pk).update(
        state="failed", failure_reason="Step 2 'Configure gnb-1' failed: element refused"
    )

    html = agent_client.get(
        reverse("orders_portal:order-progress", args=[order.pk])
    ).content.decode()

    assert 'data-order-state="failed" data-final' in html
    assert "Step 2 &#x27;Configure gnb-1&#x27; failed: element refused" in html
    assert '<li class="current">failed</li>' in html
    assert '<li class="done">inProgress</li>' in html


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_order_page_and_fragment_queries_do_not_grow_with_items_and_steps(agent_client, world):
    small = _submitted(world, items=1)
    large = _submitted(world, items=4)
    assert large.service_orders.count() == 4

    for name in ("orders_portal:order-detail", "orders_portal:order-progress"):
        small_count = _queries(agent_client, reverse(name, args=[small.pk]))
        large_count = _queries(agent_client, reverse(name, args=[large.pk]))
        assert small_count == large_count, name


def test_unknown_order_is_404(agent_client):
    assert agent_client.get(reverse("orders_portal:order-detail", args=[999999])).status_code == 404


# --- permissions ----------------------------------------------------------------------------------


def test_finance_reads_the_order_page_without_forms_and_cannot_order(finance_client, world):
    order = _submitted(world)

    page = finance_client.get(reverse("orders_portal:order-detail", args=[order.pk]))
    assert page.status_code == 200
    assert "<form" not in page.content.decode().split("</header>")[1]
    assert (
        finance_client.get(reverse("orders_portal:order-progress", args=[order.pk])).status_code
        == 200
    )

    assert finance_client.get(NEW, {"customer": world["customer"].pk}).status_code == 403
    assert finance_client.post(NEW, _order_form(world)).status_code == 403
    query = {"customer": world["customer"].pk, "offering": world["offering"].pk}
    assert finance_client.get(CONFIG, query).status_code == 403
    assert ProductOrder.objects.count() == 1


def test_noc_is_not_in_the_portal(noc_client, world):
    order = _submitted(world)
    product = _product(world)
    action = reverse("orders_portal:product-action", args=[product.pk, "suspend"])
    for url in (
        reverse("orders_portal:order-detail", args=[order.pk]),
        reverse("orders_portal:order-progress", args=[order.pk]),
        f"{NEW}?customer={world['customer'].pk}",
        action,
    ):
        assert noc_client.get(url).status_code == 403, url
    assert noc_client.post(NEW, _order_form(world)).status_code == 403
    assert noc_client.post(action).status_code == 403
    assert ProductOrder.objects.count() == 1


def test_admin_places_orders(admin_role_client, admin_user_role, world):
    response = admin_role_client.post(NEW, _order_form(world))
    assert response.status_code == 302
    assert ProductOrder.objects.get().created_by == admin_user_role.username


def test_anonymous_goes_to_login(world):
    response = Client().get(NEW, {"customer": world["customer"].pk})
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


# --- product actions from the customer 360 ------------------------------------------------------


def _product(world, *, status="active", name="5G Premium line"):
    return ProductInstanceFactory(
        billing_account=world["account"],
        product_offering=world["offering"],
        name=name,
        status=status,
        characteristics={"bandwidth": "500Mbps"},
    )


def _action_links(html: str) -> dict[str, list[tuple[str, str]]]:
    """(action, link text) per product id, from the products block."""
    links = {}
    for product_id, block in re.findall(
        r'data-product="(\d+)"(.*?)(?=data-product="|<section|$)', html, re.S
    ):
        links[int(product_id)] = re.findall(r'data-action="([^"]+)">([^<]+)</a>', block)
    return links


def test_products_block_offers_the_actions_valid_for_each_status(agent_client, world):
    active = _product(world, name="Active line")
    suspended = _product(world, status="suspended", name="Suspended line")
    pending = _product(world, status="pendingActive", name="Pending line")

    html = agent_client.get(
        reverse("crm:customer-products", args=[world["customer"].pk])
    ).content.decode()

    links = _action_links(html)
    assert links[active.pk] == [
        ("change-plan", "Change plan"),
        ("configure", "Change bandwidth"),
        ("suspend", "Suspend"),
        ("terminate", "Terminate"),
    ]
    assert links[suspended.pk] == [("resume", "Resume"), ("terminate", "Terminate")]
    assert links[pending.pk] == []
    assert f'href="/portal/orders/products/{active.pk}/suspend/"' in html


def test_finance_sees_no_product_actions_and_cannot_use_them(finance_client, world):
    product = _product(world)
    customer_page = finance_client.get(reverse("crm:customer-detail", args=[world["customer"].pk]))
    html = customer_page.content.decode()
    assert "data-product-actions" not in html
    assert "New order" not in html

    url = reverse("orders_portal:product-action", args=[product.pk, "suspend"])
    assert finance_client.get(url).status_code == 403
    assert finance_client.post(url).status_code == 403
    assert ProductOrder.objects.count() == 0


def test_customer_page_links_to_a_new_order_and_to_its_orders(agent_client, world):
    order = _submitted(world)
    html = agent_client.get(
        reverse("crm:customer-detail", args=[world["customer"].pk])
    ).content.decode()
    assert f'href="/portal/orders/new/?customer={world["customer"].pk}">New order</a>' in html
    assert f'<a href="/portal/orders/{order.pk}/">{order.pk}</a>' in html


def test_an_action_not_valid_for_the_status_is_refused_without_a_form(agent_client, world):
    product = _product(world)
    url = reverse("orders_portal:product-action", args=[product.pk, "resume"])

    for response in (agent_client.get(url), agent_client.post(url)):
        assert response.status_code == 409
        html = response.content.decode()
        assert "Resume is not possible: the product is active." in html
        assert '<form method="post" class="panel action-form"' not in html
    assert ProductOrder.objects.count() == 0


def test_action_confirm_pages(agent_client, world):
    product = _product(world)
    other = ProductOfferingFactory(name="5G Basic")
    ProductOfferingPriceFactory(product_offering=other, amount="20.00")

    plan = agent_client.get(
        reverse("orders_portal:product-action", args=[product.pk, "change-plan"])
    )
    assert plan.status_code == 200
    options = re.findall(r'<option value="\d+">([^<]+)</option>', plan.content.decode())
    assert options == ["5G Basic · 20.00 EUR a month"]

    configure = agent_client.get(
        reverse("orders_portal:product-action", args=[product.pk, "configure"])
    ).content.decode()
    assert '<option value="500Mbps" selected>500Mbps</option>' in configure

    suspend = agent_client.get(
        reverse("orders_portal:product-action", args=[product.pk, "suspend"])
    ).content.decode()
    assert 'data-action-form="suspend"' in suspend
    assert ">Suspend</button>" in suspend

    unknown = reverse("orders_portal:product-action", args=[product.pk, "explode"])
    assert agent_client.get(unknown).status_code == 404


def _act(client, product, action, **form):
    return client.post(reverse("orders_portal:product-action", args=[product.pk, action]), form)


def _only_item(response):
    order = ProductOrder.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("orders_portal:order-detail", args=[order.pk])
    item = order.items.get()
    return order, item


@pytest.mark.parametrize(
    ("action", "status", "item_action", "target_status"),
    [
        ("suspend", "active", "modify", "suspended"),
        ("resume", "suspended", "modify", "active"),
        ("terminate", "active", "delete", "terminated"),
        ("terminate", "suspended", "delete", "terminated"),
    ],
)
def test_status_actions_raise_an_order_for_the_product(
    agent_client, world, action, status, item_action, target_status
):
    product = _product(world, status=status)

    response = _act(agent_client, product, action, description="Customer asked")

    order, item = _only_item(response)
    assert order.billing_account == world["account"]
    assert order.description == "Customer asked"
    assert (item.action, item.product, item.target_status) == (item_action, product, target_status)


def test_change_plan_raises_a_modify_with_the_new_offering(agent_client, world):
    product = _product(world)
    basic = five_g_premium_offering(name="5G Basic")

    order, item = _only_item(_act(agent_client, product, "change-plan", offering=basic.pk))

    assert (item.action, item.product, item.product_offering) == ("modify", product, basic)
    assert item.characteristics == {"bandwidth": "500Mbps"}
    assert order.description == f"Change plan: {product.name}"


def test_change_bandwidth_raises_a_modify_with_the_characteristic(agent_client, world):
    product = _product(world)

    _order, item = _only_item(
        _act(agent_client, product, "configure", **{"char-bandwidth": "1Gbps"})
    )

    assert (item.action, item.product, item.product_offering) == (
        "modify",
        product,
        world["offering"],
    )
    assert item.characteristics == {"bandwidth": "1Gbps"}


@pytest.mark.parametrize(
    ("action", "form", "field", "message"),
    [
        ("change-plan", {}, "offering", "Choose the new offering."),
        ("configure", {"char-bandwidth": "500Mbps"}, "form", "Nothing to change"),
        ("configure", {"char-bandwidth": "7Gbps"}, "char-bandwidth", "&#x27;7Gbps&#x27; is not"),
    ],
)
def test_a_refused_product_action_shows_why_and_orders_nothing(
    agent_client, world, action, form, field, message
):
    product = _product(world)

    response = _act(agent_client, product, action, **form)

    assert response.status_code == 400
    errors = _errors(response.content.decode())
    assert list(errors) == [field]
    assert errors[field].startswith(message)
    assert ProductOrder.objects.count() == 0


def test_offering_lists_take_fixed_queries_whatever_the_number_of_offerings(agent_client, world):
    product = _product(world)
    customer_id = world["customer"].pk
    urls = [
        f"{NEW}?customer={customer_id}&offering={world['offering'].pk}",
        reverse("orders_portal:product-action", args=[product.pk, "change-plan"]),
    ]
    few = [_queries(agent_client, url) for url in urls]
    for n in range(4):
        offering = ProductOfferingFactory(name=f"Extra {n}")
        ProductOfferingPriceFactory(product_offering=offering)
        CharacteristicSpecificationFactory(product_specification=offering.product_specification)
    assert [_queries(agent_client, url) for url in urls] == few
