"""Reads behind the agent portal pages: each is a fixed number of queries, whatever the row count.

The customer 360 page composes several apps (inventory, orders, billing, assurance); a page may
read across apps, so these queries read the models directly rather than each app's API.
"""

from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from assurance.models import Alarm
from assurance.selectors import open_alarms_for_customer
from billing.models import AppliedCharge, CustomerBill, Payment
from billing.selectors import accounts_with_balance, payments_for_customer
from catalog.choices import ResourceKind
from crm.models import (
    BillingAccount,
    ContactMedium,
    CreditProfile,
    Customer,
    PartyIdentification,
    TroubleTicket,
)
from crm.selectors import URGENT_FIRST, customer_search, trouble_ticket_list
from inventory.choices import BindingState
from inventory.models import ProductInstance, Service, ServiceResource
from orders.models import ProductOrder, ProductOrderItem
from telco.ids import parse_id

SEARCH_LIMIT = 25
RECENT_ORDERS = 10
RECENT_BILLS = 24
RECENT_PAYMENTS = 10
TICKET_LIST_LIMIT = 200


def _held_bindings() -> QuerySet[ServiceResource]:
    """Resources a service holds now (reserved or in use, not released)."""
    return ServiceResource.objects.exclude(state=BindingState.RELEASED)


def _held_msisdns() -> QuerySet[ServiceResource]:
    """MSISDN allocations held by a service: a CFS, or an RFS under one (whose product is its
    parent's)."""
    return _held_bindings().filter(resource__resource_kind=ResourceKind.MSISDN)


def number_customer_ids(number: str) -> QuerySet:
    """The customer holding the MSISDN `number` (digits), as a one-column values queryset.

    An exact match on the number's unique index (resource kind and value), then primary-key
    joins.
    """
    return (
        _held_msisdns()
        .filter(resource__value=number)
        .values(
            customer=Coalesce(
                "service__product__customer_id", "service__parent__product__customer_id"
            )
        )
    )


def search_customers(query: str, *, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """The first `limit` customers of `ranked_customer_search`."""
    return list(ranked_customer_search(query)[:limit])


def ranked_customer_search(query: str) -> QuerySet[Customer]:
    """Customers matching a name, billing account number, email, phone, service id or MSISDN.

    Exact hits come first. A query of digits is also tried as the id of a service (its
    product's customer) and, optionally with a leading +, as an allocated MSISDN (exact match
    on the number's unique index); those lookups live here because CRM may not import
    inventory.
    """
    query = query.strip()
    if not query:
        return Customer.objects.none()
    also_ids = None
    exact = [When(Q(party__email__iexact=query) | Q(party__phone=query), then=Value(0))]
    if parse_id(query) is not None:
        also_ids = Service.objects.filter(pk=parse_id(query), product__isnull=False).values(
            "product__customer_id"
        )
        exact.append(When(pk__in=also_ids, then=Value(0)))
    number = query.removeprefix("+")
    if number.isascii() and number.isdigit() and 8 <= len(number) <= 15:
        by_number = number_customer_ids(number)
        exact.append(When(pk__in=by_number, then=Value(0)))
        also_ids = by_number if also_ids is None else also_ids.union(by_number)
    account_exact = BillingAccount.objects.filter(
        customer=OuterRef("pk"), account_number__iexact=query
    )
    # An identifier typed in full is what the agent is looking for; name prefixes come next.
    rank = Case(
        When(Exists(account_exact), then=Value(0)),
        *exact,
        When(name__istartswith=query, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    matches = customer_search(query, also_ids=also_ids)
    return matches.annotate(rank=rank).order_by("rank", "name", "pk")


def _accounts_with_balance() -> QuerySet[BillingAccount]:
    return accounts_with_balance(BillingAccount.objects.order_by("account_number"))


def customer_or_404(pk: int) -> Customer:
    """The customer row alone (for fragments that only need to know it exists)."""
    return get_object_or_404(Customer, pk=pk)


def customer_profile(pk: int) -> Customer:
    """The customer with party (contact media, identifications), credit profiles (newest first)
    and billing accounts (each with `balance` and `overdue`, and its contacts)."""
    return get_object_or_404(
        Customer.objects.select_related("party").prefetch_related(
            Prefetch("accounts", queryset=_accounts_with_balance().prefetch_related("contacts")),
            Prefetch(
                "party__contact_media",
                queryset=ContactMedium.objects.order_by("medium_type", "-preferred", "id"),
            ),
            Prefetch("party__identifications", queryset=PartyIdentification.objects.order_by("id")),
            Prefetch(
                "credit_profiles",
                queryset=CreditProfile.objects.order_by("-credit_profile_date", "-id"),
            ),
        ),
        pk=pk,
    )


def customer_recent_payments(customer_id: int) -> list[Payment]:
    """The customer's latest payments, across their accounts."""
    return list(payments_for_customer(customer_id)[:RECENT_PAYMENTS])


def customer_ticket_targets(customer_id: int) -> list[tuple[str, str]]:
    """What a new ticket may be about: each of the customer's products and its services, as
    ("Product:12", label) choices (the ticket keeps a TMF reference, not a key)."""
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


def ticket_page_list(status: str) -> list[TroubleTicket]:
    """Tickets for the ticket list page: "open", "all" or one status; most urgent first."""
    tickets = trouble_ticket_list(status=None if status == "all" else status)
    return list(tickets.order_by(*URGENT_FIRST)[:TICKET_LIST_LIMIT])


def ticket_with_history(pk: int) -> TroubleTicket:
    """A ticket with its customer and status history."""
    return get_object_or_404(trouble_ticket_list().prefetch_related("history"), pk=pk)


def customer_products(customer_id: int) -> list[ProductInstance]:
    """The customer's products with offering, account, services and the resources they hold;
    each with `msisdns`, the numbers allocated to it."""
    bindings = _held_bindings().select_related("resource")
    services = (
        Service.objects.select_related("service_specification")
        .prefetch_related(Prefetch("bindings", queryset=bindings.order_by("resource__name")))
        .order_by("category", "pk")
    )
    products = list(
        ProductInstance.objects.filter(customer_id=customer_id)
        .select_related("product_offering", "billing_account")
        .prefetch_related(Prefetch("services", queryset=services))
        .order_by("-created_at", "-pk")
    )
    # The MSISDNs each product's services (or the RFS under them) hold, in one query.
    numbers = (
        _held_msisdns()
        .filter(
            Q(service__product__customer_id=customer_id)
            | Q(service__parent__product__customer_id=customer_id)
        )
        .values_list(
            Coalesce("service__product_id", "service__parent__product_id"), "resource__value"
        )
        .order_by("resource__value")
    )
    by_product: dict[int, list[str]] = {}
    for product_id, number in numbers:
        by_product.setdefault(product_id, []).append(number)
    for product in products:
        product.msisdns = by_product.get(product.pk, [])
    return products


def customer_recent_orders(customer_id: int) -> list[ProductOrder]:
    """The customer's latest product orders with their items' offerings."""
    items = ProductOrderItem.objects.select_related("product_offering")
    return list(
        ProductOrder.objects.filter(customer_id=customer_id)
        .select_related("billing_account")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-order_date", "-pk")[:RECENT_ORDERS]
    )


def customer_bills(customer_id: int) -> list[CustomerBill]:
    """The customer's latest bills, across all their billing accounts."""
    return list(
        CustomerBill.objects.filter(billing_account__customer_id=customer_id)
        .select_related("billing_account")
        .order_by("-bill_date", "-pk")[:RECENT_BILLS]
    )


def customer_open_alarms(customer_id: int) -> list[Alarm]:
    """Alarms not cleared that affect one of the customer's services, worst first; each names,
    as `customer_services`, which of this customer's services it hits."""
    customer_services = Service.objects.filter(product__customer_id=customer_id).order_by("pk")
    return list(
        open_alarms_for_customer(customer_id).prefetch_related(
            Prefetch("affected_services", queryset=customer_services, to_attr="customer_services")
        )
    )


def bill_with_lines(pk: int) -> CustomerBill:
    """A bill with its account, customer and lines (each with its product)."""
    lines = AppliedCharge.objects.select_related("product").order_by("period_start", "pk")
    return get_object_or_404(
        CustomerBill.objects.select_related("billing_account__customer__party").prefetch_related(
            Prefetch("lines", queryset=lines)
        ),
        pk=pk,
    )
