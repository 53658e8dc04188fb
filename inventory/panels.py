"""What inventory adds to other apps' pages and lookups (telco.panels): on the customer 360,
the live products and services block; to the portal's customer search, a customer found by a
service id or an allocated MSISDN; to a new ticket, the customer's products and services it
may be about."""

from django.db.models import Prefetch, QuerySet

from crm import portal_queries
from inventory import selectors
from inventory.models import ProductInstance, Service
from telco.ids import parse_id
from telco.panels import Panel, register, register_lookup

# The digits of an MSISDN (E.164: up to 15), optionally typed with a leading +.
MSISDN_DIGITS = range(8, 16)


def products_context(request, customer) -> dict:
    return {"products": selectors.customer_products(customer.pk)}


def customer_by_service_id(query: str) -> QuerySet | None:
    """The customer of the product a service (`query`, its id) realises."""
    service_id = parse_id(query)
    if service_id is None:
        return None
    return Service.objects.filter(pk=service_id, product__isnull=False).values(
        "product__customer_id"
    )


def customer_by_msisdn(query: str) -> QuerySet | None:
    """The customer holding the MSISDN `query` (digits, optionally with a leading +)."""
    number = query.removeprefix("+")
    if not (number.isascii() and number.isdigit() and len(number) in MSISDN_DIGITS):
        return None
    return selectors.number_customer_ids(number)


def ticket_targets(customer_id: int) -> list[tuple[str, str]]:
    """Each of the customer's products and its services, as ("Product:12", label) choices."""
    services = Service.objects.order_by("category", "pk")
    products = (
        ProductInstance.objects.filter(customer_id=customer_id)
        .prefetch_related(Prefetch("services", queryset=services))
        .order_by("-created_at", "-pk")
    )
    choices = []
    for product in products:
        choices.append((f"Product:{product.pk}", f"{product.name} (product {product.pk})"))
        choices += [
            (f"Service:{service.pk}", f"— {service.name} (service {service.pk}, {service.state})")
            for service in product.services.all()
        ]
    return choices


def register_panels() -> None:
    """Called by `InventoryConfig.ready()`."""
    register(
        "crm.customer.live",
        Panel(
            name="inventory.products",
            title="Products and services",
            template="inventory/panels/customer_products.html",
            context=products_context,
            order=10,
        ),
    )
    register_lookup(portal_queries.CUSTOMER_FINDER, customer_by_service_id)
    register_lookup(portal_queries.CUSTOMER_FINDER, customer_by_msisdn)
    register_lookup(portal_queries.TICKET_TARGETS, ticket_targets)
