"""Agent portal pages: customer search, the customer 360 view, and the invoice."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from crm import portal_queries
from telco.roles import ADMIN, AGENT, FINANCE, has_role

PORTAL_ROLES = (AGENT, FINANCE, ADMIN)
# How often the 360 page refreshes the live products block (milliseconds).
LIVE_REFRESH_MS = 4000


def portal_view(view):
    """Login required (anonymous users go to the login page); other roles than the portal's: 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_role(request.user, *PORTAL_ROLES):
            raise PermissionDenied("The agent portal is for agent, finance and admin users.")
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def _search_context(query: str) -> dict:
    customers = portal_queries.search_customers(query)
    return {"query": query, "customers": customers, "limit": portal_queries.SEARCH_LIMIT}


@portal_view
def portal_search(request):
    """The landing page: a search box; results inline (the form also works without JS)."""
    query = request.GET.get("q", "").strip()
    return render(request, "crm/portal_search.html", _search_context(query))


@portal_view
def portal_search_results(request):
    """The results table alone, fetched by the search box as the agent types."""
    query = request.GET.get("q", "").strip()
    return render(request, "crm/_search_results.html", _search_context(query))


def _live_context(customer_id: int) -> dict:
    return {
        "products": portal_queries.customer_products(customer_id),
        "orders": portal_queries.customer_recent_orders(customer_id),
    }


@portal_view
def customer_detail(request, pk: int):
    """Customer 360: profile, accounts and balances, live products, orders, bills, open alarms."""
    customer = portal_queries.customer_profile(pk)
    context = {
        "customer": customer,
        "party": customer.party,
        "accounts": customer.accounts.all(),
        "bills": portal_queries.customer_bills(customer.pk),
        "alarms": portal_queries.customer_open_alarms(customer.pk),
        "live_refresh_ms": LIVE_REFRESH_MS,
        **_live_context(customer.pk),
    }
    return render(request, "crm/customer_detail.html", context)


@portal_view
def customer_products(request, pk: int):
    """The live block of the 360 page (products, services, orders), polled by the page."""
    customer = portal_queries.customer_or_404(pk)
    context = {"customer": customer, **_live_context(customer.pk)}
    return render(request, "crm/_customer_live.html", context)


@portal_view
def bill_detail(request, pk: int):
    """The invoice: header, lines and totals, printable."""
    bill = portal_queries.bill_with_lines(pk)
    account = bill.billing_account
    context = {"bill": bill, "account": account, "customer": account.customer}
    return render(request, "crm/bill_detail.html", context)
