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


def customer_search(query: str, *, also_ids: QuerySet | None = None) -> QuerySet[Customer]:
    """Customers whose name, account number, party email or phone contains `query`.

    Each field is matched in its own table and the customer ids are combined with UNION, so on
    PostgreSQL every branch can use its trigram index on `UPPER(column)` (migration 0003): one
    OR across the joined tables would leave the planner no choice but a scan of all customers.
    `also_ids` adds more customer ids (a one-column values queryset), e.g. from the apps above
    CRM, which this module must not import.
    """
    query = query.strip()
    if not query:
        return customer_list()
    by_name = Customer.objects.filter(name__icontains=query).values("id")
    by_party = Customer.objects.filter(
        party__in=Party.objects.filter(Q(email__icontains=query) | Q(phone__icontains=query))
    ).values("id")
    by_account = BillingAccount.objects.filter(account_number__icontains=query).values(
        "customer_id"
    )
    branches = [by_party, by_account] + ([also_ids] if also_ids is not None else [])
    return customer_list().filter(id__in=by_name.union(*branches))


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
