"""What orders adds to other apps' pages (telco.panels): on the customer 360, the "New order"
button and, in its live block, the recent product orders; on each product shown there, the
order actions an agent may start (change plan, suspend, ...); on the NOC inventory page, the
link to the activation queue."""

from django.db.models import Prefetch

from orders.models import ProductOrder, ProductOrderItem
from orders.views.portal import product_actions_for
from telco.panels import Panel, register, register_lookup
from telco.roles import AGENT

RECENT_ORDERS = 10


def customer_recent_orders(customer_id: int) -> list[ProductOrder]:
    """The customer's latest product orders with their items' offerings."""
    items = ProductOrderItem.objects.select_related("product_offering")
    return list(
        ProductOrder.objects.filter(customer_id=customer_id)
        .select_related("billing_account")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-order_date", "-pk")[:RECENT_ORDERS]
    )


def orders_context(request, customer) -> dict:
    return {"orders": customer_recent_orders(customer.pk)}


def product_actions_context(request, product) -> dict:
    return {"product": product, "actions": product_actions_for(product.status)}


def register_panels() -> None:
    """Called by `OrdersConfig.ready()`."""
    from orders.services.account_orders import account_order_place

    # billing.services.account_orders.ACCOUNT_ORDER_LOOKUP (a name: importing billing's
    # services while apps load is not needed for it).
    register_lookup("billing.account_order", account_order_place)
    register(
        "crm.customer.actions",
        Panel(
            name="orders.new_order",
            title="New order",
            template="orders/panels/customer_new_order.html",
            roles=(AGENT,),
        ),
    )
    register(
        "inventory.index",
        Panel(
            name="orders.activation_queue",
            title="Activation queue",
            template="orders/panels/noc_queue_link.html",
            order=20,
        ),
    )
    register(
        "crm.customer.live",
        Panel(
            name="orders.recent_orders",
            title="Recent orders",
            template="orders/panels/customer_orders.html",
            context=orders_context,
            order=20,
        ),
    )
    register(
        "inventory.product",
        Panel(
            name="orders.product_actions",
            title="Order actions",
            template="orders/panels/product_actions.html",
            context=product_actions_context,
            roles=(AGENT,),
        ),
    )
