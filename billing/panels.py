"""What billing adds to other apps' pages (telco.panels): on the customer 360, the billing
accounts with their balance and overdue, the recent payments and the bills; and the invoice
page, served at the portal's /portal/bills/<id>/ (crm's "crm:bill-detail")."""

from django.db.models import QuerySet

from billing.models import CustomerBill
from billing.money_panels import register_money_owed_panels
from billing.selectors import accounts_with_balance, payments_for_customer
from crm import portal_queries
from crm import selectors as crm_selectors
from telco.panels import Panel, register, register_lookup
from telco.roles import FINANCE, has_role

RECENT_BILLS = 24
RECENT_PAYMENTS = 10


def customer_bills(customer_id: int) -> QuerySet[CustomerBill]:
    """The customer's latest bills, across all their billing accounts."""
    return (
        CustomerBill.objects.filter(billing_account__customer_id=customer_id)
        .select_related("billing_account")
        .order_by("-bill_date", "-pk")[:RECENT_BILLS]
    )


def accounts_context(request, customer) -> dict:
    return {
        "accounts": list(
            accounts_with_balance(crm_selectors.customer_billing_accounts(customer.pk))
        )
    }


def payments_context(request, customer) -> dict:
    return {
        "payments": list(payments_for_customer(customer.pk)[:RECENT_PAYMENTS]),
        # Finance refunds and reverses payments from the payment's page.
        "can_adjust": has_role(request.user, FINANCE),
    }


def bills_context(request, customer) -> dict:
    return {"bills": list(customer_bills(customer.pk))}


def portal_routes() -> list:
    """The billing pages of the agent portal, mounted under crm's portal URLs."""
    from billing.urls import urlpatterns

    return urlpatterns


def register_panels() -> None:
    """Called by `BillingConfig.ready()`."""
    register(
        "crm.customer",
        Panel(
            name="billing.accounts",
            title="Billing accounts",
            template="billing/panels/customer_accounts.html",
            context=accounts_context,
            order=10,
        ),
    )
    register(
        "crm.customer",
        Panel(
            name="billing.payments",
            title="Recent payments",
            template="billing/panels/customer_payments.html",
            context=payments_context,
            order=20,
        ),
    )
    register(
        "crm.customer",
        Panel(
            name="billing.bills",
            title="Bills",
            template="billing/panels/customer_bills.html",
            context=bills_context,
            order=30,
        ),
    )
    register_lookup(portal_queries.PORTAL_ROUTES, portal_routes)
    register_money_owed_panels()
