"""Reads behind the agent portal pages: each is a fixed number of queries, whatever the row count.

CRM sits at the bottom of the stack, so what other apps know about a customer comes to these
pages by registration (telco.panels), never by import: the customer search asks every
`CUSTOMER_FINDER` which customers a query names (inventory answers for service ids and
MSISDNs), a new ticket may name what every `TICKET_TARGETS` contributor lists (inventory's
products and services), and the 360 page renders the panels registered for "crm.customer".
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
from django.shortcuts import get_object_or_404

from crm.models import (
    BillingAccount,
    ContactMedium,
    CreditProfile,
    Customer,
    PartyIdentification,
    TroubleTicket,
)
from crm.selectors import URGENT_FIRST, customer_search, trouble_ticket_list
from telco.panels import lookups_for

SEARCH_LIMIT = 25
TICKET_LIST_LIMIT = 200

# Extension points other apps register functions at (telco.panels.register_lookup):
# `finder(query) -> QuerySet | None`, the ids (one-column values) of the customers that `query`
# names exactly (an identifier CRM does not hold), or None when the query is not one of its;
CUSTOMER_FINDER = "crm.customer_finder"
# `targets(customer_id) -> list[(value, label)]`, what a new ticket of the customer may be
# about, as ("Product:12", label) choices (the ticket keeps a TMF reference, not a key).
TICKET_TARGETS = "crm.ticket_targets"
# `routes() -> list[URLPattern]`, pages of another app served in the portal (under /portal/,
# named in the "crm" namespace): billing's invoice page.
PORTAL_ROUTES = "crm.portal_routes"


def search_customers(query: str, *, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """The first `limit` customers of `ranked_customer_search`."""
    return list(ranked_customer_search(query)[:limit])


def ranked_customer_search(query: str) -> QuerySet[Customer]:
    """Customers matching a name, billing account number, email, phone, service id or MSISDN.

    Exact hits come first. The query is also given to every registered `CUSTOMER_FINDER`
    (inventory tries digits as the id of a service, its product's customer, and, optionally
    with a leading +, as an allocated MSISDN on the number's unique index); what they find
    counts as an exact hit.
    """
    query = query.strip()
    if not query:
        return Customer.objects.none()
    also_ids = None
    exact = [When(Q(party__email__iexact=query) | Q(party__phone=query), then=Value(0))]
    for finder in lookups_for(CUSTOMER_FINDER):
        found = finder(query)
        if found is None:
            continue
        exact.append(When(pk__in=found, then=Value(0)))
        also_ids = found if also_ids is None else also_ids.union(found)
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


def customer_or_404(pk: int) -> Customer:
    """The customer row alone (for fragments that only need to know it exists)."""
    return get_object_or_404(Customer, pk=pk)


def customer_profile(pk: int) -> Customer:
    """The customer with party (contact media, identifications) and credit profiles (newest
    first). Its accounts, with their balance, are billing's panel."""
    return get_object_or_404(
        Customer.objects.select_related("party").prefetch_related(
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


def ticket_page_list(status: str) -> list[TroubleTicket]:
    """Tickets for the ticket list page: "open", "all" or one status; most urgent first."""
    tickets = trouble_ticket_list(status=None if status == "all" else status)
    return list(tickets.order_by(*URGENT_FIRST)[:TICKET_LIST_LIMIT])


def ticket_with_history(pk: int) -> TroubleTicket:
    """A ticket with its customer and status history."""
    return get_object_or_404(trouble_ticket_list().prefetch_related("history"), pk=pk)


def customer_ticket_targets(customer_id: int) -> list[tuple[str, str]]:
    """What a new ticket of the customer may be about: every `TICKET_TARGETS` contributor's
    choices, in registration order."""
    return [choice for targets in lookups_for(TICKET_TARGETS) for choice in targets(customer_id)]
