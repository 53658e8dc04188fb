"""Reads of the CRM shared by the API, the portal pages and the apps above."""

from django.db.models import Prefetch, Q, QuerySet

from crm.models import BillingAccount, Customer, Party
from telco.exceptions import NotFound


def party_list(*, kind: str | None = None) -> QuerySet[Party]:
    parties = Party.objects.order_by("id")
    return parties.filter(kind=kind) if kind else parties


def customer_list() -> QuerySet[Customer]:
    """Customers with their party and billing accounts."""
    return (
        Customer.objects.select_related("party")
        .prefetch_related(Prefetch("accounts", queryset=BillingAccount.objects.order_by("id")))
        .order_by("id")
    )


def customer_get(*, customer_id) -> Customer:
    """One customer with party and accounts; `NotFound` for an unknown id."""
    if not str(customer_id).isdigit():
        raise NotFound(f"Customer '{customer_id}' does not exist.")
    try:
        return customer_list().get(pk=int(customer_id))
    except Customer.DoesNotExist:
        raise NotFound(f"Customer '{customer_id}' does not exist.") from None


def customer_search(query: str) -> QuerySet[Customer]:
    """Customers whose name, account number, party email or phone contains `query`."""
    query = query.strip()
    if not query:
        return customer_list()
    matches = (
        Q(name__icontains=query)
        | Q(accounts__account_number__icontains=query)
        | Q(party__email__icontains=query)
        | Q(party__phone__icontains=query)
    )
    ids = Customer.objects.filter(matches).values("id")
    return customer_list().filter(id__in=ids)


def billing_account_list() -> QuerySet[BillingAccount]:
    """Billing accounts with their customer and its party."""
    return BillingAccount.objects.select_related("customer__party").order_by("id")


def billing_account_get(*, account_id) -> BillingAccount:
    """One billing account with its customer; `NotFound` for an unknown id."""
    if not str(account_id).isdigit():
        raise NotFound(f"Billing account '{account_id}' does not exist.")
    try:
        return billing_account_list().get(pk=int(account_id))
    except BillingAccount.DoesNotExist:
        raise NotFound(f"Billing account '{account_id}' does not exist.") from None
